/*
 * TEST DOUBLE — contract fake of vmnet.framework (the one test double of squib-netd, design
 * brief §6). The model and the controls are described in include/fake_vmnet_control.h; the
 * API contract kept from Apple's vmnet.h is:
 * - vmnet_start_interface() returns an interface_ref at once and reports the outcome later,
 *   on the caller's queue, with the interface parameters (MAC, MTU, max packet size);
 * - the event callback runs on the queue given to vmnet_interface_set_event_callback();
 * - vmnet_read()/vmnet_write() take an in/out packet count: capacity in, frames moved out;
 *   each vmpktdesc's vm_pkt_size must equal the sum of its iov_len on write;
 * - vmnet_stop_interface() reports completion on the given queue.
 */
#define _GNU_SOURCE
#include <vmnet/vmnet.h>

#include <Block.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
const char* const vmnet_enable_tso_key = "vmnet_enable_tso";
const char* const vmnet_enable_checksum_offload_key = "vmnet_enable_checksum_offload";
const char* const vmnet_enable_virtio_header_key = "vmnet_enable_virtio_header";
const char* const vmnet_estimated_packets_available_key = "vmnet_estimated_packets_available";

/* A MAC the fake reports when none was requested: locally administered, unicast. */
static const char* const k_default_mac = "0e:00:5e:00:00:01";
/* Ethernet header (IEEE 802.3): what vmnet adds to the MTU for max packet size. */
enum { k_ethernet_header = 14 };

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

struct fake_vmnet_interface {
  bool stopped;
  uint64_t mtu;
  uint64_t max_packet_size;
  vmnet_interface_event_callback_t callback;
  dispatch_queue_t callback_queue;
  struct fake_vmnet_interface* next_all;
};

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct fake_vmnet_interface* g_current;
static struct fake_vmnet_interface* g_all;
static xpc_object_t g_last_desc;
static struct frame_list g_rx;      /* network → VM, waiting for vmnet_read */
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
  uint64_t estimated = list_pending(&g_rx);
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

  vmnet_return_t status = g_start_status;
  uint64_t mode = xpc_dictionary_get_uint64(desc, vmnet_operation_mode_key);
  if (mode != VMNET_HOST_MODE && mode != VMNET_SHARED_MODE && mode != VMNET_BRIDGED_MODE) {
    status = VMNET_INVALID_ARGUMENT;
  }
  if (mode == VMNET_BRIDGED_MODE && xpc_dictionary_get_string(desc, vmnet_shared_interface_name_key) == NULL) {
    status = VMNET_INVALID_ARGUMENT;
  }

  struct fake_vmnet_interface* iface = calloc(1, sizeof(*iface));
  if (iface == NULL) abort();
  iface->stopped = true; /* until the completion reports success */
  uint64_t requested_mtu = xpc_dictionary_get_uint64(desc, vmnet_mtu_key);
  iface->mtu = g_reported_mtu != 0 ? g_reported_mtu : (requested_mtu != 0 ? requested_mtu : 1500);
  iface->max_packet_size =
      g_reported_max_packet_size != 0 ? g_reported_max_packet_size : iface->mtu + k_ethernet_header;
  iface->next_all = g_all;
  g_all = iface;
  g_current = iface;

  const char* requested_mac = xpc_dictionary_get_string(desc, vmnet_mac_address_key);
  struct {
    char text[32];
  } mac = {{0}}; /* a struct, because blocks cannot capture arrays */
  strncpy(mac.text, requested_mac != NULL ? requested_mac : k_default_mac, sizeof(mac.text) - 1);
  int delay_ms = g_start_delay_ms;
  pthread_mutex_unlock(&g_mutex);

  dispatch_async(queue, ^{
    sleep_ms(delay_ms);
    xpc_object_t param = NULL;
    if (status == VMNET_SUCCESS) {
      param = xpc_dictionary_create(NULL, NULL, 0);
      xpc_dictionary_set_string(param, vmnet_mac_address_key, mac.text);
      xpc_dictionary_set_uint64(param, vmnet_mtu_key, iface->mtu);
      xpc_dictionary_set_uint64(param, vmnet_max_packet_size_key, iface->max_packet_size);
      pthread_mutex_lock(&g_mutex);
      iface->stopped = false;
      ++g_live;
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
    if (list_pending(&g_rx) > 0) post_event_locked(iface);
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
  if (g_read_fail_calls > 0) {
    --g_read_fail_calls;
    *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return g_read_fail_status;
  }
  size_t n = (size_t)*pktcnt;
  if (list_pending(&g_rx) < n) n = list_pending(&g_rx);
  if (g_read_limit > 0 && (size_t)g_read_limit < n) n = (size_t)g_read_limit;
  for (size_t i = 0; i < n; ++i) {
    struct frame* frame = &g_rx.items[g_rx.head];
    struct vmpktdesc* packet = &packets[i];
    size_t capacity = 0;
    for (uint32_t v = 0; v < packet->vm_pkt_iovcnt; ++v) capacity += packet->vm_pkt_iov[v].iov_len;
    if (frame->len > packet->vm_pkt_size || frame->len > capacity) {
      *pktcnt = (int)i;
      pthread_mutex_unlock(&g_mutex);
      return VMNET_PACKET_TOO_BIG;
    }
    size_t copied = 0;
    for (uint32_t v = 0; v < packet->vm_pkt_iovcnt && copied < frame->len; ++v) {
      size_t chunk = packet->vm_pkt_iov[v].iov_len;
      if (chunk > frame->len - copied) chunk = frame->len - copied;
      memcpy(packet->vm_pkt_iov[v].iov_base, frame->data + copied, chunk);
      copied += chunk;
    }
    packet->vm_pkt_size = frame->len;
    packet->vm_flags = 0;
    free(frame->data);
    frame->data = NULL;
    ++g_rx.head;
  }
  *pktcnt = (int)n;
  /* A read cut short by read_limit leaves frames queued: signal again (see control.h). */
  if (g_read_limit > 0 && list_pending(&g_rx) > 0 && n == (size_t)g_read_limit) post_event_locked(iface);
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
  if (g_write_fail_calls > 0) {
    --g_write_fail_calls;
    *pktcnt = 0;
    pthread_mutex_unlock(&g_mutex);
    return g_write_fail_status;
  }
  int n = *pktcnt;
  if (g_write_limit > 0 && g_write_limit < n) n = g_write_limit;
  unsigned char buffer[65536 + 64];
  for (int i = 0; i < n; ++i) {
    struct vmpktdesc* packet = &packets[i];
    size_t total = 0;
    for (uint32_t v = 0; v < packet->vm_pkt_iovcnt; ++v) total += packet->vm_pkt_iov[v].iov_len;
    if (packet->vm_pkt_iovcnt == 0 || total != packet->vm_pkt_size) {
      *pktcnt = i;
      pthread_mutex_unlock(&g_mutex);
      return VMNET_INVALID_ARGUMENT;
    }
    if (total > iface->max_packet_size || total > sizeof(buffer)) {
      *pktcnt = i;
      pthread_mutex_unlock(&g_mutex);
      return VMNET_PACKET_TOO_BIG;
    }
    size_t copied = 0;
    for (uint32_t v = 0; v < packet->vm_pkt_iovcnt; ++v) {
      memcpy(buffer + copied, packet->vm_pkt_iov[v].iov_base, packet->vm_pkt_iov[v].iov_len);
      copied += packet->vm_pkt_iov[v].iov_len;
    }
    list_push(&g_written, buffer, total);
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
    free(g_all);
    g_all = next;
  }
  g_current = NULL;
  for (size_t i = 0; i < g_retired_count; ++i) Block_release(g_retired[i]);
  g_retired_count = 0;
  if (g_last_desc != NULL) xpc_release(g_last_desc);
  g_last_desc = NULL;
  list_clear(&g_rx);
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
bool fake_vmnet_desc_has(const char* key) {
  return xpc_dictionary_get_string(g_last_desc, key) != NULL || xpc_dictionary_get_uuid(g_last_desc, key) != NULL ||
         xpc_dictionary_get_uint64(g_last_desc, key) != 0 || xpc_dictionary_get_bool(g_last_desc, key);
}
const char* fake_vmnet_desc_string(const char* key) {
  const char* value = xpc_dictionary_get_string(g_last_desc, key);
  return value != NULL ? value : "";
}
bool fake_vmnet_desc_uuid(const char* key, unsigned char out[16]) {
  const uint8_t* uuid = xpc_dictionary_get_uuid(g_last_desc, key);
  if (uuid == NULL) return false;
  memcpy(out, uuid, 16);
  return true;
}

size_t fake_vmnet_inject(const void* data, size_t len) {
  pthread_mutex_lock(&g_mutex);
  list_push(&g_rx, data, len);
  size_t depth = list_pending(&g_rx);
  post_event_locked(g_current);
  pthread_mutex_unlock(&g_mutex);
  return depth;
}

void fake_vmnet_inject_many(const void* const* frames, const size_t* lens, size_t count) {
  pthread_mutex_lock(&g_mutex);
  for (size_t i = 0; i < count; ++i) list_push(&g_rx, frames[i], lens[i]);
  post_event_locked(g_current);
  pthread_mutex_unlock(&g_mutex);
}

size_t fake_vmnet_queued(void) {
  pthread_mutex_lock(&g_mutex);
  size_t depth = list_pending(&g_rx);
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
