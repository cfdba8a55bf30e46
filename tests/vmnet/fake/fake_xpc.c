/*
 * TEST DOUBLE — contract fake of XPC dictionaries (the one test double of squib-netd, design
 * brief §6; contract in include/xpc/xpc.h). A reference-counted linked list of typed values.
 */
#include <xpc/xpc.h>

#include <stdlib.h>
#include <string.h>

enum value_type { type_uint64 = 1, type_bool, type_string, type_uuid };

struct entry {
  char* key;
  enum value_type type;
  uint64_t u64;
  bool boolean;
  char* string;
  unsigned char uuid[16];
  struct entry* next;
};

struct fake_xpc_object {
  int refs; /* atomic */
  struct entry* entries;
};

xpc_object_t xpc_dictionary_create(const char* const* keys, const xpc_object_t* values, size_t count) {
  (void)keys;
  (void)values;
  if (count != 0) abort(); /* the backend only creates empty dictionaries */
  struct fake_xpc_object* dict = calloc(1, sizeof(*dict));
  if (dict == NULL) abort();
  dict->refs = 1;
  return dict;
}

xpc_object_t xpc_retain(xpc_object_t object) {
  __atomic_add_fetch(&object->refs, 1, __ATOMIC_RELAXED);
  return object;
}

void xpc_release(xpc_object_t object) {
  if (__atomic_sub_fetch(&object->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  struct entry* entry = object->entries;
  while (entry != NULL) {
    struct entry* next = entry->next;
    free(entry->key);
    free(entry->string);
    free(entry);
    entry = next;
  }
  free(object);
}

static struct entry* find(xpc_object_t dict, const char* key) {
  if (dict == NULL || key == NULL) return NULL;
  for (struct entry* entry = dict->entries; entry != NULL; entry = entry->next) {
    if (strcmp(entry->key, key) == 0) return entry;
  }
  return NULL;
}

static struct entry* slot(xpc_object_t dict, const char* key, enum value_type type) {
  struct entry* entry = find(dict, key);
  if (entry == NULL) {
    entry = calloc(1, sizeof(*entry));
    if (entry == NULL) abort();
    entry->key = strdup(key);
    entry->next = dict->entries;
    dict->entries = entry;
  }
  free(entry->string);
  entry->string = NULL;
  entry->type = type;
  return entry;
}

void xpc_dictionary_set_uint64(xpc_object_t dict, const char* key, uint64_t value) {
  slot(dict, key, type_uint64)->u64 = value;
}
void xpc_dictionary_set_bool(xpc_object_t dict, const char* key, bool value) {
  slot(dict, key, type_bool)->boolean = value;
}
void xpc_dictionary_set_string(xpc_object_t dict, const char* key, const char* value) {
  slot(dict, key, type_string)->string = strdup(value);
}
void xpc_dictionary_set_uuid(xpc_object_t dict, const char* key, const unsigned char* uuid) {
  memcpy(slot(dict, key, type_uuid)->uuid, uuid, 16);
}

uint64_t xpc_dictionary_get_uint64(xpc_object_t dict, const char* key) {
  struct entry* entry = find(dict, key);
  return entry != NULL && entry->type == type_uint64 ? entry->u64 : 0;
}
bool xpc_dictionary_get_bool(xpc_object_t dict, const char* key) {
  struct entry* entry = find(dict, key);
  return entry != NULL && entry->type == type_bool && entry->boolean;
}
const char* xpc_dictionary_get_string(xpc_object_t dict, const char* key) {
  struct entry* entry = find(dict, key);
  return entry != NULL && entry->type == type_string ? entry->string : NULL;
}
const uint8_t* xpc_dictionary_get_uuid(xpc_object_t dict, const char* key) {
  struct entry* entry = find(dict, key);
  return entry != NULL && entry->type == type_uuid ? entry->uuid : NULL;
}

/* Test-only (fake_vmnet_control.h): Apple's equivalent is xpc_dictionary_get_value() != NULL. */
bool fake_xpc_dictionary_has(xpc_object_t dict, const char* key) { return find(dict, key) != NULL; }
