/*
 * TEST DOUBLE — contract fake of vmnet.framework (the one test double of squib-netd, design
 * brief §6). The model and the controls are described in include/fake_vmnet_control.h; the
 * API contract kept from Apple's vmnet.h, and the strict checks with their sources, are listed
 * there; in short:
 * - vmnet_start_interface() returns an interface_ref at once and reports the outcome later,
 *   on the caller's queue, with the interface parameters (MTU, max packet size, the address
 *   triple, and the MAC and id the fake allocates — never a MAC the caller asked for);
 * - the event callback runs on the queue given to vmnet_interface_set_event_callback(), once
 *   per arrival of new frames and never again for frames already announced;
 * - vmnet_read()/vmnet_write() take an in/out packet count: capacity in, frames moved out;
 *   at most 200 packets and 256 KiB per call; a write is one iov per packet with
 *   vm_pkt_size == iov_len, all or error;
 * - vmnet_stop_interface() reports completion on the given queue.
 */
#define _GNU_SOURCE
#include <vmnet/vmnet.h>

#include <Block.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_gateway.h"
#include "fake_vmnet_control.h"

const char* const vmnet_operation_mode_key = "vmnet_operation_mode";
const char* const vmnet_mac_address_key = "vmnet_mac_address";
const char* const vmnet_mtu_key = "vmnet_mtu";
const char* const vmnet_max_packet_size_key = "vmnet_max_packet_size";
const char* const vmnet_interface_id_key = "vmnet_interface_id";
const char* const vmnet_start_address_key = "vmnet_start_address";
const char* const vmnet_end_address_key = "vmnet_end_address";
const char* const vmnet_subnet_mask_key = "vmnet_subnet_mask";
const char* const vmnet_shared_interface_name_key = "vmnet_shared_interface_name";
const char* const vmnet_enable_isolation_key = "vmnet_enable_isolation";
const char* const vmnet_allocate_mac_address_key = "vmnet_allocate_mac_address";
const char* const vmnet_enable_tso_key = "vmnet_enable_tso";
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 120000
const char* const vmnet_enable_checksum_offload_key = "vmnet_enable_checksum_offload";
#endif
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 150400
const char* const vmnet_enable_virtio_header_key = "vmnet_enable_virtio_header";
#endif
const char* const vmnet_estimated_packets_available_key = "vmnet_estimated_packets_available";

/* Ethernet header (IEEE 802.3): what vmnet adds to the MTU for max packet size. */
enum { k_ethernet_header = 14 };
/* vmnet_max_packet_size_key with TSO [VH programs/common.h:10-12]. */
enum { k_tso_max_packet_size = 65550 };

/* MACs the fake allocated, one per interface id (same id → same MAC [AD
 * "vmnet_interface_id_key"]): locally administered unicast 0e:00:5e:00:xx:xx [fake]. */
struct allocation {
  unsigned char id[16];
  char mac[18];
};
static struct allocation g_allocations[256];
static size_t g_allocation_count;

struct frame {
  unsigned char* data;
  size_t len;
};

struct frame_list {
  struct frame* items;
  size_t head; /* first unconsumed */
  size_t size;
  size_t capacity;
};

/* Source MACs an interface's writes carried, as a learning bridge keeps them [fake: 8]. */
enum { k_learned_macs = 8 };

struct fake_vmnet_interface {
  bool stopped;
  uint64_t mtu;
  uint64_t max_packet_size;
  vmnet_interface_event_callback_t callback;
  dispatch_queue_t callback_queue;
  struct frame_list rx; /* network → VM, waiting for vmnet_read */
  /* The vmnet network it is on: interfaces with the same mode and the same start/end/mask
   * share one (vmnet-helper docs/integration.md), bridged ones the same host NIC. */
  char network[128];
  uint32_t gateway; /* the start address, host order; 0 in bridged mode (no host address) */
  bool isolated;    /* vmnet_enable_isolation_key: no traffic to or from other interfaces */
  unsigned char learned[k_learned_macs][6];
  size_t learned_count;
  struct fake_vmnet_interface* next_all;
};

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct fake_vmnet_interface* g_current;
static struct fake_vmnet_interface* g_all;
static xpc_object_t g_last_desc;
static struct frame_list g_written; /* VM → network, captured from vmnet_write */

static vmnet_return_t g_start_status = VMNET_SUCCESS;
static int g_start_delay_ms;
static bool g_start_returns_null;
static uint64_t g_reported_mtu;
static uint64_t g_reported_max_packet_size;
static vmnet_return_t g_stop_status = VMNET_SUCCESS;
static int g_stop_delay_ms;
static int g_read_limit;
static vmnet_return_t g_read_fail_status;
static int g_read_fail_calls;
static int g_write_limit;
static vmnet_return_t g_write_fail_status;
static int g_write_fail_calls;

static xpc_object_t g_last_param;
static int g_max_read_count, g_max_write_count;
static size_t g_max_write_bytes;
static int g_start_calls, g_stop_calls, g_read_calls, g_write_calls, g_events;
static int g_start_completions, g_started; /* start completion handlers run / succeeded */
static int g_live;

static void list_push(struct frame_list* list, const void* data, size_t len) {
  if (list->size == list->capacity) {
    list->capacity = list->capacity == 0 ? 64 : list->capacity * 2;
    list->items = realloc(list->items, list->capacity * sizeof(struct frame));
    if (list->items == NULL) abort();
  }
  struct frame* frame = &list->items[list->size++];
  frame->data = malloc(len == 0 ? 1 : len);
  if (frame->data == NULL) abort();
  memcpy(frame->data, data, len);
  frame->len = len;
}

static size_t list_pending(const struct frame_list* list) { return list->size - list->head; }

static void list_clear(struct frame_list* list) {
  for (size_t i = 0; i < list->size; ++i) free(list->items[i].data);
  free(list->items);
  memset(list, 0, sizeof(*list));
}

static void sleep_ms(int ms) {
  if (ms > 0) usleep((useconds_t)ms * 1000U);
}

/* Caller holds g_mutex. Posts one PACKETS_AVAILABLE event to the registered callback. */
static void post_event_locked(struct fake_vmnet_interface* iface) {
  if (iface == NULL || iface->stopped || iface->callback == NULL) return;
  vmnet_interface_event_callback_t callback = Block_copy(iface->callback);
  uint64_t estimated = list_pending(&iface->rx);
  ++g_events;
  dispatch_async(iface->callback_queue, ^{
    xpc_object_t event = xpc_dictionary_create(NULL, NULL, 0);
    xpc_dictionary_set_uint64(event, vmnet_estimated_packets_available_key, estimated);
    callback(VMNET_INTERFACE_PACKETS_AVAILABLE, event);
    xpc_release(event);
    Block_release(callback);
  });
}

/* Callbacks replaced or cleared while a queue thread may still hold a copy. They are freed
 * only by fake_vmnet_reset(), after every queue is idle: libBlocksRuntime's reference counts
 * are not visible to ThreadSanitizer, so a last Block_release() racing a queue thread's use
 * would be reported although it is ordered. */
static vmnet_interface_event_callback_t g_retired[4096];
static size_t g_retired_count;

/* Caller holds g_mutex. */
static void clear_callback_locked(struct fake_vmnet_interface* iface) {
  if (iface->callback != NULL) {
    if (g_retired_count < sizeof(g_retired) / sizeof(g_retired[0])) {
      g_retired[g_retired_count++] = iface->callback;
    } /* else: leak it; a test double may */
    dispatch_release(iface->callback_queue);
  }
  iface->callback = NULL;
  iface->callback_queue = NULL;
}

/* Caller holds g_mutex. The MAC allocated for `id` (allocating one if new). */
static const char* allocate_mac_locked(const unsigned char id[16]) {
  for (size_t i = 0; i < g_allocation_count; ++i) {
    if (memcmp(g_allocations[i].id, id, 16) == 0) return g_allocations[i].mac;
  }
  if (g_allocation_count == sizeof(g_allocations) / sizeof(g_allocations[0])) abort();
  struct allocation* a = &g_allocations[g_allocation_count++];
  memcpy(a->id, id, 16);
  snprintf(a->mac, sizeof(a->mac), "0e:00:5e:00:%02x:%02x", (unsigned)(g_allocation_count >> 8) & 0xffU,
           (unsigned)g_allocation_count & 0xffU);
  return a->mac;
}

static bool parse_ipv4(const char* text, uint32_t* out) {
  struct in_addr addr;
  if (text == NULL || inet_pton(AF_INET, text, &addr) != 1) return false;
  *out = ntohl(addr.s_addr);
  return true;
}

static bool is_rfc1918(uint32_t a) {
  return (a >> 24) == 10 || (a >> 20) == ((172U << 4) | 1U) || (a >> 16) == ((192U << 8) | 168U);
}

/* The start/end/mask rules of vmnet-facts.md §2: all or none; start is the gateway (a host
 * address of the subnet), start+1..end the DHCP pool inside the same subnet; RFC 1918. */
static vmnet_return_t check_range(xpc_object_t desc) {
  const char* start_text = xpc_dictionary_get_string(desc, vmnet_start_address_key);
  const char* end_text = xpc_dictionary_get_string(desc, vmnet_end_address_key);
  const char* mask_text = xpc_dictionary_get_string(desc, vmnet_subnet_mask_key);
  int present = fake_xpc_dictionary_has(desc, vmnet_start_address_key) +
                fake_xpc_dictionary_has(desc, vmnet_end_address_key) +
                fake_xpc_dictionary_has(desc, vmnet_subnet_mask_key);
  if (present == 0) return VMNET_SUCCESS;
  if (present != 3) return VMNET_INVALID_ARGUMENT;
  uint32_t start, end, mask;
  if (!parse_ipv4(start_text, &start) || !parse_ipv4(end_text, &end) || !parse_ipv4(mask_text, &mask)) {
    return VMNET_INVALID_ARGUMENT;
  }
  if (mask == 0 || ((~mask + 1U) & ~mask) != 0) return VMNET_INVALID_ARGUMENT; /* contiguous */
  uint32_t network = start & mask;
  uint32_t broadcast = network | ~mask;
  if (start == network || start >= end || (end & mask) != network || end >= broadcast) {
    return VMNET_INVALID_ARGUMENT;
  }
  if (!is_rfc1918(start)) return VMNET_FAILURE;
  return VMNET_SUCCESS;
}

/* Caller holds g_mutex. The start's status: the descriptor's first violation, else the knob. */
static vmnet_return_t check_descriptor(xpc_object_t desc, uint64_t mode) {
  if (mode != VMNET_HOST_MODE && mode != VMNET_SHARED_MODE && mode != VMNET_BRIDGED_MODE) {
    return VMNET_INVALID_ARGUMENT;
  }
  if (mode == VMNET_BRIDGED_MODE) {
    if (xpc_dictionary_get_string(desc, vmnet_shared_interface_name_key) == NULL) return VMNET_INVALID_ARGUMENT;
    if (fake_xpc_dictionary_has(desc, vmnet_mtu_key)) return VMNET_INVALID_ARGUMENT;
  } else {
    vmnet_return_t range = check_range(desc);
    if (range != VMNET_SUCCESS) return range;
  }
  if (fake_xpc_dictionary_has(desc, vmnet_interface_id_key) &&
      xpc_dictionary_get_uuid(desc, vmnet_interface_id_key) == NULL) {
    return VMNET_INVALID_ARGUMENT; /* wrong xpc type */
  }
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 150400
  if (xpc_dictionary_get_bool(desc, vmnet_enable_virtio_header_key) &&
      xpc_dictionary_get_bool(desc, vmnet_enable_checksum_offload_key)) {
    return VMNET_INVALID_ARGUMENT;
  }
#endif
  return g_start_status;
}

/* Caller holds g_mutex. The completion's param for a start that succeeds. */
static xpc_object_t make_param_locked(xpc_object_t desc, uint64_t mode, const struct fake_vmnet_interface* iface) {
  xpc_object_t param = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(param, vmnet_operation_mode_key, mode);
  xpc_dictionary_set_uint64(param, vmnet_mtu_key, iface->mtu);
  xpc_dictionary_set_uint64(param, vmnet_max_packet_size_key, iface->max_packet_size);
  if (mode != VMNET_BRIDGED_MODE) {
    const char* start = xpc_dictionary_get_string(desc, vmnet_start_address_key);
    const bool host = mode == VMNET_HOST_MODE;
    xpc_dictionary_set_string(param, vmnet_start_address_key,
                              start != NULL ? start : (host ? "192.168.128.1" : "192.168.64.1"));
    xpc_dictionary_set_string(param, vmnet_end_address_key,
                              start != NULL ? xpc_dictionary_get_string(desc, vmnet_end_address_key)
                                            : (host ? "192.168.128.254" : "192.168.64.254"));
    xpc_dictionary_set_string(param, vmnet_subnet_mask_key,
                              start != NULL ? xpc_dictionary_get_string(desc, vmnet_subnet_mask_key) : "255.255.255.0");
  }
  const bool allocate = !fake_xpc_dictionary_has(desc, vmnet_allocate_mac_address_key) ||
                        xpc_dictionary_get_bool(desc, vmnet_allocate_mac_address_key);
  if (allocate) {
    unsigned char id[16] = {0};
    const uint8_t* requested = xpc_dictionary_get_uuid(desc, vmnet_interface_id_key);
    if (requested != NULL) {
      memcpy(id, requested, 16);
    } else { /* a new id: counter-based, version 4 and variant bits set [fake] */
      id[0] = 0xfa;
      id[15] = (unsigned char)(g_allocation_count + 1);
      id[14] = (unsigned char)((g_allocation_count + 1) >> 8);
      id[6] = 0x40;
      id[8] = 0x80;
    }
    xpc_dictionary_set_uuid(param, vmnet_interface_id_key, id);
    xpc_dictionary_set_string(param, vmnet_mac_address_key, allocate_mac_locked(id));
  }
  return param;
}

/* Which vmnet network `iface` joins [fake model of vmnet-helper docs/integration.md]: shared
 * and host interfaces with the same mode and addressing (as the param reports it) are one
 * network, whose gateway is the start address; bridged ones share their host NIC's LAN. */
static void place_on_network(struct fake_vmnet_interface* iface, xpc_object_t desc, xpc_object_t param,
                             uint64_t mode) {
  iface->isolated = xpc_dictionary_get_bool(desc, vmnet_enable_isolation_key);
  if (mode == VMNET_BRIDGED_MODE) {
    snprintf(iface->network, sizeof(iface->network), "bridged %s",
             xpc_dictionary_get_string(desc, vmnet_shared_interface_name_key));
    return;
  }
  const char* start = xpc_dictionary_get_string(param, vmnet_start_address_key);
  snprintf(iface->network, sizeof(iface->network), "%llu %s %s %s", (unsigned long long)mode, start,
           xpc_dictionary_get_string(param, vmnet_end_address_key),
           xpc_dictionary_get_string(param, vmnet_subnet_mask_key));
  if (!parse_ipv4(start, &iface->gateway)) iface->gateway = 0;
}

static bool is_learned(const struct fake_vmnet_interface* iface, const unsigned char* mac) {
  for (size_t i = 0; i < iface->learned_count; ++i) {
    if (memcmp(iface->learned[i], mac, 6) == 0) return true;
  }
  return false;
}

/* Caller holds g_mutex. A learning bridge's view of a frame `from` wrote: its source MAC
 * is learned; multicast, broadcast and unknown unicast go to every other interface of the
 * network, known unicast to the one that sent from that MAC; isolated interfaces neither
 * send to nor receive from others. The gateway answers what it is asked. Each receiver gets
 * an event for the new frame (fake_vmnet_control.h: events on new arrivals). */
static void switch_frame_locked(struct fake_vmnet_interface* from, const unsigned char* frame, size_t len) {
  const unsigned char* dst = frame;
  const unsigned char* src = frame + 6;
  if ((src[0] & 1U) == 0 && !is_learned(from, src)) {
    memcpy(from->learned[from->learned_count % k_learned_macs], src, 6);
    if (from->learned_count < k_learned_macs) ++from->learned_count;
  }
  const bool flood = (dst[0] & 1U) != 0;
  if (flood || memcmp(dst, fake_gateway_mac, 6) == 0) {
    unsigned char reply[2048];
    const size_t reply_len = fake_gateway_answer(frame, len, from->gateway, reply, sizeof(reply));
    if (reply_len > 0) {
      list_push(&from->rx, reply, reply_len);
      post_event_locked(from);
    }
  }
  if (from->isolated || (!flood && memcmp(dst, fake_gateway_mac, 6) == 0)) return;
  struct fake_vmnet_interface* owner = NULL;
  for (struct fake_vmnet_interface* to = g_all; !flood && to != NULL; to = to->next_all) {
    if (to != from && !to->stopped && strcmp(to->network, from->network) == 0 && is_learned(to, dst)) owner = to;
  }
  for (struct fake_vmnet_interface* to = g_all; to != NULL; to = to->next_all) {
    if (to == from || to->stopped || to->isolated || strcmp(to->network, from->network) != 0) continue;
    if (owner != NULL && to != owner) continue;
    list_push(&to->rx, frame, len);
    post_event_locked(to);
  }
}

interface_ref vmnet_start_interface(xpc_object_t desc, dispatch_queue_t queue,
                                    vmnet_start_interface_completion_handler_t handler) {
  pthread_mutex_lock(&g_mutex);
  ++g_start_calls;
  if (g_last_desc != NULL) xpc_release(g_last_desc);
  g_last_desc = desc != NULL ? xpc_retain(desc) : NULL;
  if (g_start_returns_null || desc == NULL || queue == NULL || handler == NULL) {
    pthread_mutex_unlock(&g_mutex);
    return NULL;
  }

  uint64_t mode = xpc_dictionary_get_uint64(desc, vmnet_operation_mode_key);
  vmnet_return_t status = check_descriptor(desc, mode);

  struct fake_vmnet_interface* iface = calloc(1, sizeof(*iface));
  if (iface == NULL) abort();
  iface->stopped = true; /* until the completion reports success */
  uint64_t requested_mtu = mode == VMNET_BRIDGED_MODE ? 0 : xpc_dictionary_get_uint64(desc, vmnet_mtu_key);
  iface->mtu = g_reported_mtu != 0 ? g_reported_mtu : (requested_mtu != 0 ? requested_mtu : 1500);
  const bool tso = xpc_dictionary_get_bool(desc, vmnet_enable_tso_key);
  iface->max_packet_size = g_reported_max_packet_size != 0 ? g_reported_max_packet_size
                           : tso                           ? k_tso_max_packet_size
                                                           : iface->mtu + k_ethernet_header;
  iface->next_all = g_all;
  g_all = iface;
  g_current = iface;

  xpc_object_t param = status == VMNET_SUCCESS ? make_param_locked(desc, mode, iface) : NULL;
  if (param != NULL) place_on_network(iface, desc, param, mode);
  int delay_ms = g_start_delay_ms;
  pthread_mutex_unlock(&g_mutex);

  dispatch_async(queue, ^{
    sleep_ms(delay_ms);
    if (status == VMNET_SUCCESS) {
      pthread_mutex_lock(&g_mutex);
      iface->stopped = false;
      ++g_live;
      if (g_last_param != NULL) xpc_release(g_last_param);
      g_last_param = xpc_retain(param);
      pthread_mutex_unlock(&g_mutex);
    }
    handler(status, param);
    if (param != NULL) xpc_release(param);
    pthread_mutex_lock(&g_mutex);
    ++g_start_completions;
    if (status == VMNET_SUCCESS) ++g_started;
    pthread_mutex_unlock(&g_mutex);
  });
  return iface;
}

vmnet_return_t vmnet_interface_set_event_callback(interface_ref iface, interface_event_t event_mask,
                                                  dispatch_queue_t queue, vmnet_interface_event_callback_t callback) {
  pthread_mutex_lock(&g_mutex);
  if (iface == NULL || iface->stopped) {
    pthread_mutex_unlock(&g_mutex);
    return VMNET_INVALID_ARGUMENT;
  }
  clear_callback_locked(iface);
  if (callback != NULL && queue != NULL && (event_mask & VMNET_INTERFACE_PACKETS_AVAILABLE) != 0) {
    iface->callback = Block_copy(callback);
    dispatch_retain(queue);
    iface->callback_queue = queue;
    if (list_pending(&iface->rx) > 0) post_event_locked(iface);
  }
  pthread_mutex_unlock(&g_mutex);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_read(interface_ref iface, struct vmpktdesc* packets, int* pktcnt) {
  pthread_mutex_lock(&g_mutex);
  ++g_read_calls;
  if (iface == NULL || iface->stopped || packets == NULL || pktcnt == NULL || *pktcnt < 0) {
    if (pktcnt != NULL) *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return VMNET_INVALID_ARGUMENT;
  }
  if (*pktcnt > g_max_read_count) g_max_read_count = *pktcnt;
  if (*pktcnt > fake_vmnet_max_packets_per_call) {
    *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return VMNET_TOO_MANY_PACKETS;
  }
  for (int i = 0; i < *pktcnt; ++i) { /* every buffer must hold a max-size packet */
    size_t capacity = 0;
    for (uint32_t v = 0; v < packets[i].vm_pkt_iovcnt; ++v) capacity += packets[i].vm_pkt_iov[v].iov_len;
    if (packets[i].vm_pkt_size < iface->max_packet_size || capacity < iface->max_packet_size) {
      *pktcnt = 0;
      pthread_mutex_unlock(&g_mutex);
      return VMNET_INVALID_ARGUMENT;
    }
  }
  if (g_read_fail_calls > 0) {
    --g_read_fail_calls;
    *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return g_read_fail_status;
  }
  size_t n = (size_t)*pktcnt;
  struct frame_list* rx = &iface->rx;
  if (list_pending(rx) < n) n = list_pending(rx);
  if (g_read_limit > 0 && (size_t)g_read_limit < n) n = (size_t)g_read_limit;
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    struct frame* frame = &rx->items[rx->head];
    if (bytes + frame->len > fake_vmnet_max_bytes_per_call) { /* 256 KiB per call */
      n = i;
      break;
    }
    bytes += frame->len;
    struct vmpktdesc* packet = &packets[i];
    if (frame->len > packet->vm_pkt_size) abort(); /* cannot happen: checked above */
    size_t copied = 0;
    for (uint32_t v = 0; v < packet->vm_pkt_iovcnt && copied < frame->len; ++v) {
      size_t chunk = packet->vm_pkt_iov[v].iov_len;
      if (chunk > frame->len - copied) chunk = frame->len - copied;
      memcpy(packet->vm_pkt_iov[v].iov_base, frame->data + copied, chunk);
      copied += chunk;
    }
    packet->vm_pkt_size = frame->len; /* the only field vmnet_read sets */
    free(frame->data);
    frame->data = NULL;
    ++rx->head;
  }
  *pktcnt = (int)n;
  /* No event for what is still queued: only new arrivals raise one (see control.h). */
  pthread_mutex_unlock(&g_mutex);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_write(interface_ref iface, struct vmpktdesc* packets, int* pktcnt) {
  pthread_mutex_lock(&g_mutex);
  ++g_write_calls;
  if (iface == NULL || iface->stopped || packets == NULL || pktcnt == NULL || *pktcnt < 0) {
    if (pktcnt != NULL) *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return VMNET_INVALID_ARGUMENT;
  }
  const int requested = *pktcnt;
  *pktcnt = 0; /* all or error: nothing written unless every check passes */
  if (requested > g_max_write_count) g_max_write_count = requested;
  if (requested > fake_vmnet_max_packets_per_call) {
    pthread_mutex_unlock(&g_mutex);
    return VMNET_TOO_MANY_PACKETS;
  }
  size_t bytes = 0;
  for (int i = 0; i < requested; ++i) {
    const struct vmpktdesc* packet = &packets[i];
    if (packet->vm_pkt_iovcnt != 1 || packet->vm_pkt_iov == NULL ||
        packet->vm_pkt_iov[0].iov_len != packet->vm_pkt_size || packet->vm_pkt_size < k_ethernet_header) {
      pthread_mutex_unlock(&g_mutex);
      return VMNET_INVALID_ARGUMENT;
    }
    if (packet->vm_pkt_size > iface->max_packet_size) {
      pthread_mutex_unlock(&g_mutex);
      return VMNET_PACKET_TOO_BIG;
    }
    bytes += packet->vm_pkt_size;
  }
  if (bytes > g_max_write_bytes) g_max_write_bytes = bytes;
  if (bytes > fake_vmnet_max_bytes_per_call) {
    pthread_mutex_unlock(&g_mutex);
    return VMNET_TOO_MANY_PACKETS; /* [fake] status; the 256 KiB limit is Apple's */
  }
  if (g_write_fail_calls > 0) {
    --g_write_fail_calls;
    pthread_mutex_unlock(&g_mutex);
    return g_write_fail_status;
  }
  int n = requested;
  if (g_write_limit > 0 && g_write_limit < n) n = g_write_limit;
  for (int i = 0; i < n; ++i) {
    list_push(&g_written, packets[i].vm_pkt_iov[0].iov_base, packets[i].vm_pkt_size);
    switch_frame_locked(iface, packets[i].vm_pkt_iov[0].iov_base, packets[i].vm_pkt_size);
  }
  *pktcnt = n;
  pthread_mutex_unlock(&g_mutex);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_stop_interface(interface_ref iface, dispatch_queue_t queue, void (^handler)(vmnet_return_t)) {
  pthread_mutex_lock(&g_mutex);
  if (iface == NULL || iface->stopped || queue == NULL || handler == NULL) {
    pthread_mutex_unlock(&g_mutex);
    return VMNET_INVALID_ARGUMENT;
  }
  ++g_stop_calls;
  iface->stopped = true;
  clear_callback_locked(iface);
  vmnet_return_t status = g_stop_status;
  int delay_ms = g_stop_delay_ms;
  pthread_mutex_unlock(&g_mutex);

  dispatch_async(queue, ^{
    sleep_ms(delay_ms);
    pthread_mutex_lock(&g_mutex);
    --g_live;
    pthread_mutex_unlock(&g_mutex);
    handler(status);
  });
  return VMNET_SUCCESS;
}

/* ---- controls ---------------------------------------------------------------------- */

bool fake_vmnet_reset(int timeout_ms) {
  bool idle = fake_dispatch_wait_idle(timeout_ms);
  pthread_mutex_lock(&g_mutex);
  bool clean = idle && g_live == 0;
  while (g_all != NULL) {
    struct fake_vmnet_interface* next = g_all->next_all;
    clear_callback_locked(g_all);
    list_clear(&g_all->rx);
    free(g_all);
    g_all = next;
  }
  g_current = NULL;
  for (size_t i = 0; i < g_retired_count; ++i) Block_release(g_retired[i]);
  g_retired_count = 0;
  if (g_last_desc != NULL) xpc_release(g_last_desc);
  g_last_desc = NULL;
  if (g_last_param != NULL) xpc_release(g_last_param);
  g_last_param = NULL;
  g_allocation_count = 0;
  g_max_read_count = g_max_write_count = 0;
  g_max_write_bytes = 0;
  list_clear(&g_written);
  g_start_status = VMNET_SUCCESS;
  g_start_delay_ms = 0;
  g_start_returns_null = false;
  g_reported_mtu = 0;
  g_reported_max_packet_size = 0;
  g_stop_status = VMNET_SUCCESS;
  g_stop_delay_ms = 0;
  g_read_limit = 0;
  g_read_fail_calls = 0;
  g_write_limit = 0;
  g_write_fail_calls = 0;
  g_start_calls = g_stop_calls = g_read_calls = g_write_calls = g_events = 0;
  g_start_completions = g_started = 0;
  g_live = 0;
  pthread_mutex_unlock(&g_mutex);
  return clean;
}

#define SETTER(name, type, var)      \
  void name(type value) {            \
    pthread_mutex_lock(&g_mutex);    \
    var = value;                     \
    pthread_mutex_unlock(&g_mutex);  \
  }
SETTER(fake_vmnet_set_start_status, vmnet_return_t, g_start_status)
SETTER(fake_vmnet_set_start_delay_ms, int, g_start_delay_ms)
SETTER(fake_vmnet_set_start_returns_null, bool, g_start_returns_null)
SETTER(fake_vmnet_set_reported_mtu, uint64_t, g_reported_mtu)
SETTER(fake_vmnet_set_reported_max_packet_size, uint64_t, g_reported_max_packet_size)
SETTER(fake_vmnet_set_stop_status, vmnet_return_t, g_stop_status)
SETTER(fake_vmnet_set_stop_delay_ms, int, g_stop_delay_ms)
SETTER(fake_vmnet_set_read_limit, int, g_read_limit)
SETTER(fake_vmnet_set_write_limit, int, g_write_limit)

#define GETTER(name, var)            \
  int name(void) {                   \
    pthread_mutex_lock(&g_mutex);    \
    int value = var;                 \
    pthread_mutex_unlock(&g_mutex);  \
    return value;                    \
  }
GETTER(fake_vmnet_start_calls, g_start_calls)
GETTER(fake_vmnet_stop_calls, g_stop_calls)
GETTER(fake_vmnet_read_calls, g_read_calls)
GETTER(fake_vmnet_write_calls, g_write_calls)
GETTER(fake_vmnet_events_posted, g_events)
GETTER(fake_vmnet_start_completions, g_start_completions)
GETTER(fake_vmnet_started_interfaces, g_started)
GETTER(fake_vmnet_live_interfaces, g_live)
GETTER(fake_vmnet_max_read_count, g_max_read_count)
GETTER(fake_vmnet_max_write_count, g_max_write_count)

size_t fake_vmnet_max_write_bytes(void) {
  pthread_mutex_lock(&g_mutex);
  size_t value = g_max_write_bytes;
  pthread_mutex_unlock(&g_mutex);
  return value;
}

bool fake_vmnet_callback_set(void) {
  pthread_mutex_lock(&g_mutex);
  bool set = g_current != NULL && g_current->callback != NULL;
  pthread_mutex_unlock(&g_mutex);
  return set;
}

void fake_vmnet_fail_reads(vmnet_return_t status, int calls) {
  pthread_mutex_lock(&g_mutex);
  g_read_fail_status = status;
  g_read_fail_calls = calls;
  pthread_mutex_unlock(&g_mutex);
}

void fake_vmnet_fail_writes(vmnet_return_t status, int calls) {
  pthread_mutex_lock(&g_mutex);
  g_write_fail_status = status;
  g_write_fail_calls = calls;
  pthread_mutex_unlock(&g_mutex);
}

/* The descriptor getters read a dictionary only the test thread touches after start. */
uint64_t fake_vmnet_desc_uint64(const char* key) { return xpc_dictionary_get_uint64(g_last_desc, key); }
bool fake_vmnet_desc_bool(const char* key) { return xpc_dictionary_get_bool(g_last_desc, key); }
bool fake_vmnet_desc_has(const char* key) { return fake_xpc_dictionary_has(g_last_desc, key); }
const char* fake_vmnet_desc_string(const char* key) {
  const char* value = xpc_dictionary_get_string(g_last_desc, key);
  return value != NULL ? value : "";
}
/* The param getters read a dictionary written before the start completion ran. */
const char* fake_vmnet_param_string(const char* key) {
  pthread_mutex_lock(&g_mutex);
  const char* value = g_last_param != NULL ? xpc_dictionary_get_string(g_last_param, key) : NULL;
  pthread_mutex_unlock(&g_mutex);
  return value;
}
uint64_t fake_vmnet_param_uint64(const char* key) {
  pthread_mutex_lock(&g_mutex);
  uint64_t value = g_last_param != NULL ? xpc_dictionary_get_uint64(g_last_param, key) : 0;
  pthread_mutex_unlock(&g_mutex);
  return value;
}
bool fake_vmnet_param_has(const char* key) {
  pthread_mutex_lock(&g_mutex);
  bool has = g_last_param != NULL && fake_xpc_dictionary_has(g_last_param, key);
  pthread_mutex_unlock(&g_mutex);
  return has;
}
bool fake_vmnet_desc_uuid(const char* key, unsigned char out[16]) {
  const uint8_t* uuid = xpc_dictionary_get_uuid(g_last_desc, key);
  if (uuid == NULL) return false;
  memcpy(out, uuid, 16);
  return true;
}

/* Caller holds g_mutex. The interface tests inject into: the one started last. */
static struct fake_vmnet_interface* current_locked(void) {
  if (g_current == NULL) {
    fprintf(stderr, "vmnet fake: frames injected before any vmnet_start_interface()\n");
    abort();
  }
  return g_current;
}

size_t fake_vmnet_inject(const void* data, size_t len) {
  pthread_mutex_lock(&g_mutex);
  struct fake_vmnet_interface* iface = current_locked();
  list_push(&iface->rx, data, len);
  size_t depth = list_pending(&iface->rx);
  post_event_locked(iface);
  pthread_mutex_unlock(&g_mutex);
  return depth;
}

void fake_vmnet_inject_many(const void* const* frames, const size_t* lens, size_t count) {
  pthread_mutex_lock(&g_mutex);
  struct fake_vmnet_interface* iface = current_locked();
  for (size_t i = 0; i < count; ++i) list_push(&iface->rx, frames[i], lens[i]);
  post_event_locked(iface);
  pthread_mutex_unlock(&g_mutex);
}

size_t fake_vmnet_queued(void) {
  pthread_mutex_lock(&g_mutex);
  size_t depth = g_current != NULL ? list_pending(&g_current->rx) : 0;
  pthread_mutex_unlock(&g_mutex);
  return depth;
}

size_t fake_vmnet_written_count(void) {
  pthread_mutex_lock(&g_mutex);
  size_t count = g_written.size;
  pthread_mutex_unlock(&g_mutex);
  return count;
}

size_t fake_vmnet_written_frame(size_t index, void* out, size_t out_size) {
  pthread_mutex_lock(&g_mutex);
  size_t len = 0;
  if (index < g_written.size) {
    len = g_written.items[index].len;
    memcpy(out, g_written.items[index].data, len < out_size ? len : out_size);
  }
  pthread_mutex_unlock(&g_mutex);
  return len;
}
