/* A small streaming JSON writer for --json output: one object on stdout. */
#ifndef PITH_EXPERIMENTS_JSON_H
#define PITH_EXPERIMENTS_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct json {
    FILE *f;
    int depth;
    int count[32]; /* items written at each depth, for commas */
} json;

void json_init(json *j, FILE *f);
/* key is NULL inside arrays. */
void json_obj(json *j, const char *key);
void json_end_obj(json *j);
void json_arr(json *j, const char *key);
void json_end_arr(json *j);
void json_str(json *j, const char *key, const char *v);
/* NaN and infinities become null. */
void json_num(json *j, const char *key, double v);
void json_int(json *j, const char *key, int64_t v);
void json_bool(json *j, const char *key, int v);
/* Ends the document with a newline. */
void json_finish(json *j);

#endif
