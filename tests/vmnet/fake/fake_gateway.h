/*
 * TEST DOUBLE — the host side of a vmnet network in the contract fake: what the Mac's
 * bridge100 address (vmnet's start address, the gateway) answers on a real shared or host
 * network, reduced to what tests probe: ARP requests for the gateway (RFC 826) and ICMP echo
 * requests to it (RFC 792). Pure functions over bytes; internal to tests/vmnet/fake.
 */
#ifndef SQUIB_FAKE_GATEWAY_H
#define SQUIB_FAKE_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

/* The gateway's MAC on every fake network [fake]: locally administered, unicast. */
extern const unsigned char fake_gateway_mac[6];

/* If `frame` asks the gateway `gateway` (IPv4, host byte order) something it answers, writes
 * the reply frame to `reply` (capacity `reply_size`) and returns its length; else 0. Frames
 * too short for what their headers claim are ignored, as the host's stack would. */
size_t fake_gateway_answer(const unsigned char* frame, size_t len, uint32_t gateway, unsigned char* reply,
                           size_t reply_size);

#endif
