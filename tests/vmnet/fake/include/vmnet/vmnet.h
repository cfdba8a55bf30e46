/*
 * TEST DOUBLE — the contract fake of Apple's vmnet.framework, the one test double of
 * squib-netd (design brief §6). Linux only; on macOS the real <vmnet/vmnet.h> is used.
 * It declares exactly what lib/squib/backend/vmnet/ uses, with Apple's names, types and
 * numeric values (vmnet.h, macOS SDK; cross-checked with nirs/vmnet-helper helper.c), so the
 * backend source compiles unchanged. The macOS 26 vmnet_network_* API is NOT faked.
 * Test-only controls (error injection, frame queues) are in fake_vmnet_control.h.
 */
#ifndef SQUIB_FAKE_VMNET_VMNET_H
#define SQUIB_FAKE_VMNET_VMNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t vmnet_return_t;
enum {
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
  VMNET_NOT_AUTHORIZED = 1010,
};

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
extern const char* const vmnet_enable_tso_key;
extern const char* const vmnet_enable_checksum_offload_key;
extern const char* const vmnet_enable_virtio_header_key;
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
