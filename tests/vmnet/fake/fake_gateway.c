/*
 * TEST DOUBLE — see fake_gateway.h.
 */
#include "fake_gateway.h"

#include <string.h>

const unsigned char fake_gateway_mac[6] = {0x5a, 0x94, 0xef, 0x00, 0x00, 0x01};

enum {
  k_eth = 14,       /* Ethernet header */
  k_arp = 28,       /* ARP for IPv4 over Ethernet */
  k_ipv4_min = 20,  /* IPv4 header without options */
  k_icmp_echo = 8,  /* ICMP echo header */
};

static uint16_t get16(const unsigned char* p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const unsigned char* p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put16(unsigned char* p, uint16_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

/* RFC 1071 Internet checksum. */
static uint16_t checksum(const unsigned char* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(p + i);
  if (len % 2 != 0) sum += (uint32_t)p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffffU) + (sum >> 16);
  return (uint16_t)~sum;
}

/* "Who has gateway? tell X" → "gateway is at fake_gateway_mac", to X. */
static size_t answer_arp(const unsigned char* frame, size_t len, uint32_t gateway, unsigned char* reply, size_t cap) {
  const unsigned char* arp = frame + k_eth;
  if (len < k_eth + k_arp || cap < k_eth + k_arp) return 0;
  if (get16(arp) != 1 || get16(arp + 2) != 0x0800 || arp[4] != 6 || arp[5] != 4 || get16(arp + 6) != 1) return 0;
  if (get32(arp + 24) != gateway) return 0;
  memcpy(reply, arp + 8, 6); /* to the asker's hardware address */
  memcpy(reply + 6, fake_gateway_mac, 6);
  put16(reply + 12, 0x0806);
  unsigned char* out = reply + k_eth;
  memcpy(out, arp, 6);  /* htype, ptype, hlen, plen as asked */
  put16(out + 6, 2);    /* reply */
  memcpy(out + 8, fake_gateway_mac, 6);
  memcpy(out + 14, arp + 24, 4); /* the gateway's address */
  memcpy(out + 18, arp + 8, 10); /* the asker's MAC and address */
  return k_eth + k_arp;
}

/* An echo request to the gateway → the echo reply, same identifier, sequence and data. */
static size_t answer_echo(const unsigned char* frame, size_t len, uint32_t gateway, unsigned char* reply,
                          size_t cap) {
  const unsigned char* ip = frame + k_eth;
  if (len < k_eth + k_ipv4_min) return 0;
  const size_t header = (size_t)(ip[0] & 0x0f) * 4;
  const size_t total = get16(ip + 2);
  if ((ip[0] >> 4) != 4 || header < k_ipv4_min || total < header + k_icmp_echo || len < k_eth + total) return 0;
  if (ip[9] != 1 || get32(ip + 16) != gateway || (get16(ip + 6) & 0x3fff) != 0) return 0; /* ICMP, unfragmented */
  const unsigned char* icmp = ip + header;
  if (icmp[0] != 8 || icmp[1] != 0 || cap < k_eth + total) return 0;
  memcpy(reply, frame + 6, 6);
  memcpy(reply + 6, fake_gateway_mac, 6);
  put16(reply + 12, 0x0800);
  unsigned char* out_ip = reply + k_eth;
  memcpy(out_ip, ip, total);
  memcpy(out_ip + 12, ip + 16, 4); /* from the gateway */
  memcpy(out_ip + 16, ip + 12, 4); /* to the asker */
  out_ip[8] = 64;                  /* TTL */
  put16(out_ip + 10, 0);
  put16(out_ip + 10, checksum(out_ip, header));
  unsigned char* out_icmp = out_ip + header;
  out_icmp[0] = 0; /* echo reply */
  put16(out_icmp + 2, 0);
  put16(out_icmp + 2, checksum(out_icmp, total - header));
  return k_eth + total;
}

size_t fake_gateway_answer(const unsigned char* frame, size_t len, uint32_t gateway, unsigned char* reply,
                           size_t reply_size) {
  if (gateway == 0 || len < k_eth) return 0;
  switch (get16(frame + 12)) {
    case 0x0806: return answer_arp(frame, len, gateway, reply, reply_size);
    case 0x0800: return answer_echo(frame, len, gateway, reply, reply_size);
    default: return 0;
  }
}
