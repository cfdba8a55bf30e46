/*
 * TEST DOUBLE — the contract fake of Apple's vmnet.framework, the one test double of
 * squib-netd (design brief §6). Linux only; on macOS the real <vmnet/vmnet.h> is used.
 * It declares exactly what lib/squib/backend/vmnet/ uses, with Apple's names, types and
 * numeric values (vmnet.h, macOS SDK; cross-checked with nirs/vmnet-helper helper.c), so the
 * backend source compiles unchanged. The macOS 26 vmnet_network_* API is NOT faked.
 * Test-only controls (error injection, frame queues) are in fake_vmnet_control.h.
 *
 * SDK level: SQUIB_FAKE_VMNET_SDK_VERSION (default 260000) plays the role of
 * __MAC_OS_X_VERSION_MAX_ALLOWED: define it lower (tests/vmnet/CMakeLists.txt builds a
 * 110000 variant, the macOS 11 SDK of /work/shared/vmnet-facts.md [H]) and the declarations
 * newer than that SDK disappear, as they do from an older Apple SDK:
 *   vmnet_enable_checksum_offload_key 120000, vmnet_enable_virtio_header_key 150400,
 *   VMNET_NOT_AUTHORIZED (1010) 260000 (Apple doc "vmnet_return_t"; not in the 11.3 SDK).
 * lib/squib/backend/vmnet/vmnet_descriptor.hpp maps SQUIB_VMNET_SDK(v) to it on Linux.
 */
#ifndef SQUIB_FAKE_VMNET_VMNET_H
#define SQUIB_FAKE_VMNET_VMNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#ifndef SQUIB_FAKE_VMNET_SDK_VERSION
#define SQUIB_FAKE_VMNET_SDK_VERSION 260000
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* An unscoped enum as in Apple's header (fmt >= 10 refuses to format it implicitly). */
typedef enum vmnet_return_t {
  VMNET_SUCCESS = 1000,
  VMNET_FAILURE = 1001,
  VMNET_MEM_FAILURE = 1002,
  VMNET_INVALID_ARGUMENT = 1003,
  VMNET_SETUP_INCOMPLETE = 1004,
  VMNET_INVALID_ACCESS = 1005,
  VMNET_PACKET_TOO_BIG = 1006,
  VMNET_BUFFER_EXHAUSTED = 1007,
  VMNET_TOO_MANY_PACKETS = 1008,
  VMNET_SHARING_SERVICE_BUSY = 1009,
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 260000
  VMNET_NOT_AUTHORIZED = 1010,
#endif
} vmnet_return_t;

typedef uint32_t operating_modes_t;
enum {
  VMNET_HOST_MODE = 1000,
  VMNET_SHARED_MODE = 1001,
  VMNET_BRIDGED_MODE = 1002,
};

typedef uint32_t interface_event_t;
enum {
  VMNET_INTERFACE_PACKETS_AVAILABLE = 1 << 0,
};

typedef struct fake_vmnet_interface* interface_ref;

struct vmpktdesc {
  size_t vm_pkt_size;
  struct iovec* vm_pkt_iov;
  uint32_t vm_pkt_iovcnt;
  uint32_t vm_flags;
};

typedef void (^vmnet_start_interface_completion_handler_t)(vmnet_return_t status, xpc_object_t interface_param);
typedef void (^vmnet_interface_event_callback_t)(interface_event_t event_mask, xpc_object_t event);

extern const char* const vmnet_operation_mode_key;
extern const char* const vmnet_mac_address_key;
extern const char* const vmnet_mtu_key;
extern const char* const vmnet_max_packet_size_key;
extern const char* const vmnet_interface_id_key;
extern const char* const vmnet_start_address_key;
extern const char* const vmnet_end_address_key;
extern const char* const vmnet_subnet_mask_key;
extern const char* const vmnet_shared_interface_name_key;
extern const char* const vmnet_enable_isolation_key;
extern const char* const vmnet_allocate_mac_address_key;
extern const char* const vmnet_enable_tso_key;
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 120000
extern const char* const vmnet_enable_checksum_offload_key;
#endif
#if SQUIB_FAKE_VMNET_SDK_VERSION >= 150400
extern const char* const vmnet_enable_virtio_header_key;
#endif
extern const char* const vmnet_estimated_packets_available_key;

interface_ref vmnet_start_interface(xpc_object_t interface_desc, dispatch_queue_t queue,
                                    vmnet_start_interface_completion_handler_t handler);
vmnet_return_t vmnet_interface_set_event_callback(interface_ref interface, interface_event_t event_mask,
                                                  dispatch_queue_t queue, vmnet_interface_event_callback_t callback);
vmnet_return_t vmnet_read(interface_ref interface, struct vmpktdesc* packets, int* pktcnt);
vmnet_return_t vmnet_write(interface_ref interface, struct vmpktdesc* packets, int* pktcnt);
vmnet_return_t vmnet_stop_interface(interface_ref interface, dispatch_queue_t queue, void (^handler)(vmnet_return_t status));

#ifdef __cplusplus
}
#endif

#endif
