/*
 * TEST DOUBLE — the contract fake of Apple's XPC dictionaries, part of the one test double
 * of squib-netd (design brief §6). Linux only. It implements exactly the xpc_dictionary_*
 * calls lib/squib/backend/vmnet/ makes, with Apple's names and signatures (xpc/xpc.h), so
 * the backend compiles unchanged. Getters return 0 / NULL / false for a missing key or a
 * value of another type, as Apple documents for xpc_dictionary_get_*.
 */
#ifndef SQUIB_FAKE_XPC_XPC_H
#define SQUIB_FAKE_XPC_XPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fake_xpc_object* xpc_object_t;

xpc_object_t xpc_dictionary_create(const char* const* keys, const xpc_object_t* values, size_t count);
xpc_object_t xpc_retain(xpc_object_t object);
void xpc_release(xpc_object_t object);

void xpc_dictionary_set_uint64(xpc_object_t dict, const char* key, uint64_t value);
void xpc_dictionary_set_bool(xpc_object_t dict, const char* key, bool value);
void xpc_dictionary_set_string(xpc_object_t dict, const char* key, const char* value);
void xpc_dictionary_set_uuid(xpc_object_t dict, const char* key, const unsigned char* uuid);

uint64_t xpc_dictionary_get_uint64(xpc_object_t dict, const char* key);
bool xpc_dictionary_get_bool(xpc_object_t dict, const char* key);
const char* xpc_dictionary_get_string(xpc_object_t dict, const char* key);
const uint8_t* xpc_dictionary_get_uuid(xpc_object_t dict, const char* key);

#ifdef __cplusplus
}
#endif

#endif
