/*
 * TEST DOUBLE — controls of the vmnet/dispatch/xpc contract fake (the one test double of
 * squib-netd, design brief §6). Tests call these; the backend never does.
 *
 * Model (a single "current" interface, the one most recently started):
 * - vmnet_start_interface() records the descriptor, then runs the completion handler on the
 *   given queue after `start_delay_ms`, with `start_status`. On success the completion
 *   dictionary carries a MAC (the requested one, else a fixed locally administered one), the
 *   MTU (requested or 1500) and max packet size (MTU + 14).
 * - fake_vmnet_inject() queues frames "from the network" and posts one
 *   VMNET_INTERFACE_PACKETS_AVAILABLE event per call (edge-triggered: no event while the
 *   queue merely stays non-empty), on the queue given to vmnet_interface_set_event_callback().
 * - vmnet_read() returns min(requested, queued, read_limit) frames. If that leaves frames
 *   queued because of read_limit, it posts one more event (a short read never strands frames).
 * - vmnet_write() captures frames, accepting at most write_limit per call.
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

/* Network → VM: queue `len` bytes as one frame and post an event. Returns the queue depth. */
size_t fake_vmnet_inject(const void* data, size_t len);
/* Queue `count` frames without posting events, then post a single event. */
void fake_vmnet_inject_many(const void* const* frames, const size_t* lens, size_t count);
size_t fake_vmnet_queued(void);

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
