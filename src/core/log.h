/* log.h — one-line log records to stderr (or a file), tagged with the current request id.
 * Never pass tokens, passwords or keys to these functions. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Minimum level printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);
/* Parses "debug"/"info"/"warning"/"error"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Redirects records to a file (appending); returns 0 or -1. */
int log_open(const char *path);
/* The request id shown in this thread's records (NULL clears it); the string is not copied. */
void log_set_request_id(const char *req_id);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
