/*
 * Argument checks shared by our N-API addons (lz4-erofs.c, zstd-stream.c, lzma-stream.c): every value from JS is
 * checked before C trusts it.
 */
#ifndef INITOVERLAYFS_NAPI_ARGS_H
#define INITOVERLAYFS_NAPI_ARGS_H

#include <node_api.h>
#include <stddef.h>

/* throws a TypeError with msg; returns NULL for the caller to return */
static inline napi_value addon_fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* 1 when v is a typed array of exactly type `want`, with its data and element count */
static inline int addon_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

#endif
