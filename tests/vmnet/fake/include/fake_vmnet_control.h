/*
 * TEST DOUBLE — controls of the vmnet/dispatch/xpc contract fake (the one test double of
 * squib-netd, design brief §6). Tests call these; the backend never does.
 *
 * Model: every started interface has its own receive queue; tests inject into the "current"
 * one (the one most recently started). Interfaces form vmnet networks as on a Mac: shared or
 * host interfaces with the same mode and addressing share one network, bridged ones their
 * host NIC's. A frame an interface writes is switched like vmnet's bridge does it: its source
 * MAC is learned; broadcast, multicast and unknown unicast reach every other interface of the
 * network, known unicast only the interface that sent from that MAC; isolated interfaces
 * (vmnet_enable_isolation_key) neither send to nor receive from others. On shared and host
 * networks the gateway (the start address, MAC 5a:94:ef:00:00:01 [fake]) answers ARP
 * requests for it and ICMP echo requests to it, as the Mac does (fake_gateway.h). STRICT: it enforces
 * what /work/shared/vmnet-facts.md ("What a strict fake must enforce") states, and is
 * stricter than vmnet where vmnet's behaviour is undocumented; "[fake]" marks its own choices.
 * - vmnet_start_interface() records the descriptor and returns a handle at once; the
 *   completion runs later on the given queue (after `start_delay_ms`), never inline. It fails
 *   the start (status in the completion) with VMNET_INVALID_ARGUMENT for: a bad mode; bridged
 *   without vmnet_shared_interface_name_key; vmnet_mtu_key in bridged mode [H]; a partial
 *   start/end/mask triple, an unparsable one, a non-contiguous mask, start (the gateway) not
 *   a host address below end, or end outside start's subnet / on its broadcast address
 *   [H; Q net/vmnet-shared.c]; virtio header with checksum offload [AD]. A range outside RFC
 *   1918 fails with VMNET_FAILURE [facts §"strict fake" 2]. Otherwise `start_status`.
 * - The completion's param: vmnet_mtu_key (requested in shared/host, else 1500),
 *   vmnet_max_packet_size_key (MTU + 14; 65550 with TSO [VH common.h]), and in shared/host
 *   the start/end/mask triple (as requested, else the mode's default: shared
 *   192.168.64.1-.254/24, host 192.168.128.1-.254/24 [VH int.md]). MAC: vmnet_mac_address_key
 *   is an output only, so a requested one is IGNORED; with vmnet_allocate_mac_address_key
 *   absent or true the fake allocates its own MAC (one per vmnet_interface_id: same id →
 *   same MAC; no id → a new id) and reports both vmnet_mac_address_key and
 *   vmnet_interface_id_key; with it false neither key is in the param (lima-vm/socket_vmnet
 *   main.c: "If false then the interface_param generated will not have either a
 *   vmnet_mac_address or a vmnet_interface_id key").
 * - fake_vmnet_inject() queues frames "from the network" and posts one
 *   VMNET_INTERFACE_PACKETS_AVAILABLE event per call, only then (edge-triggered on new
 *   arrivals, never re-posted after a short read [fake]: a consumer that does not read until
 *   a read returns 0 strands frames), on the queue given to the event callback (and once
 *   when a callback is set while frames are already queued); the event's
 *   vmnet_estimated_packets_available_key is the queue depth at posting time.
 * - vmnet_read(): *pktcnt > 200 → VMNET_TOO_MANY_PACKETS; any of the *pktcnt descriptors
 *   smaller than max packet size (vm_pkt_size or iov_len) → VMNET_INVALID_ARGUMENT
 *   [mirage/mirage-net-macosx#33]. Then min(requested, queued, read_limit) frames, cut so
 *   that one call returns at most 256 KiB [AD "vmnet"]; sets only vm_pkt_size (iov_len and
 *   vm_flags untouched [SV main.c:183]); 0 frames when empty.
 * - vmnet_write(): *pktcnt > 200 → VMNET_TOO_MANY_PACKETS; more than 256 KiB in one call →
 *   VMNET_TOO_MANY_PACKETS [fake: Apple states the limit, not its status]; per packet
 *   vm_pkt_iovcnt != 1 or vm_pkt_size != iov_len or < 14 bytes → VMNET_INVALID_ARGUMENT,
 *   > max packet size → VMNET_PACKET_TOO_BIG. All or error: nothing is written on error.
 *   Then it captures the frames, at most write_limit per call (a short count [fake knob]).
 * - Injected failures are one-shot or counted, as documented per call.
 */
#ifndef SQUIB_FAKE_VMNET_CONTROL_H
#define SQUIB_FAKE_VMNET_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmnet/vmnet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Waits (up to timeout_ms) until every fake queue is idle and every interface has stopped
 * or been abandoned, then forgets all state and restores defaults. Returns false on timeout. */
bool fake_vmnet_reset(int timeout_ms);
/* Waits (up to timeout_ms) until no block is pending or running on any fake queue. */
bool fake_dispatch_wait_idle(int timeout_ms);

/* Start: completion status (default VMNET_SUCCESS), delay before the completion handler runs
 * (default 0), and whether vmnet_start_interface() returns NULL at once (bad descriptor). */
void fake_vmnet_set_start_status(vmnet_return_t status);
void fake_vmnet_set_start_delay_ms(int delay_ms);
void fake_vmnet_set_start_returns_null(bool returns_null);
/* MTU / max packet size reported in the completion dictionary (0 = derive from request). */
void fake_vmnet_set_reported_mtu(uint64_t mtu);
void fake_vmnet_set_reported_max_packet_size(uint64_t size);
/* Stop: completion status and delay (defaults VMNET_SUCCESS, 0). */
void fake_vmnet_set_stop_status(vmnet_return_t status);
void fake_vmnet_set_stop_delay_ms(int delay_ms);

/* The descriptor of the last vmnet_start_interface() call (strings: "" when absent). */
uint64_t fake_vmnet_desc_uint64(const char* key);
bool fake_vmnet_desc_bool(const char* key);
bool fake_vmnet_desc_has(const char* key);
const char* fake_vmnet_desc_string(const char* key);
/* The param of the last successful start completion (NULL before; owned by the fake). */
const char* fake_vmnet_param_string(const char* key);
uint64_t fake_vmnet_param_uint64(const char* key);
bool fake_vmnet_param_has(const char* key);
/* Whether `key` is present in `dict`, whatever its type (the fake xpc dictionary). */
bool fake_xpc_dictionary_has(xpc_object_t dict, const char* key);
bool fake_vmnet_desc_uuid(const char* key, unsigned char out[16]);

/* Counters. */
int fake_vmnet_start_calls(void);
int fake_vmnet_stop_calls(void);
int fake_vmnet_read_calls(void);
int fake_vmnet_write_calls(void);
int fake_vmnet_events_posted(void);
bool fake_vmnet_callback_set(void);
/* Start completion handlers that have returned, and those of them that reported success
 * (the interface came up and counts in fake_vmnet_live_interfaces() until stopped). */
int fake_vmnet_start_completions(void);
int fake_vmnet_started_interfaces(void);
/* Interfaces started and not yet stopped. */
int fake_vmnet_live_interfaces(void);

/* Network → VM, on the current interface (aborts before any start): queue `len` bytes as one
 * frame and post an event. Returns the queue depth. */
size_t fake_vmnet_inject(const void* data, size_t len);
/* Queue `count` frames without posting events, then post a single event. */
void fake_vmnet_inject_many(const void* const* frames, const size_t* lens, size_t count);
size_t fake_vmnet_queued(void);

/* vmnet's per-call limits [AD "vmnet"; Q net/vmnet_int.h VMNET_PACKETS_LIMIT]. */
enum { fake_vmnet_max_packets_per_call = 200, fake_vmnet_max_bytes_per_call = 256 * 1024 };
/* Largest vmnet_read/vmnet_write packet count and byte total seen in one call. */
int fake_vmnet_max_read_count(void);
int fake_vmnet_max_write_count(void);
size_t fake_vmnet_max_write_bytes(void);

/* vmnet_read: cap frames per call (0 = no cap); fail the next `calls` calls with `status`. */
void fake_vmnet_set_read_limit(int limit);
void fake_vmnet_fail_reads(vmnet_return_t status, int calls);

/* vmnet_write: cap frames accepted per call (0 = no cap); fail the next `calls` calls. */
void fake_vmnet_set_write_limit(int limit);
void fake_vmnet_fail_writes(vmnet_return_t status, int calls);
/* VM → network: frames captured so far; copy frame `index` into out (returns its length). */
size_t fake_vmnet_written_count(void);
size_t fake_vmnet_written_frame(size_t index, void* out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
