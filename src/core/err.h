/* err.h — the error codes every monostack function returns.
 * A code is the negated HTTP status it maps to, so the HTTP layer renders it directly;
 * the human message travels separately (in the request context, see http.h). */
#ifndef CORE_ERR_H
#define CORE_ERR_H

enum {
	ERR_OK        = 0,
	ERR_BADREQ    = -400,
	ERR_UNAUTH    = -401,
	ERR_FORBIDDEN = -403,
	ERR_NOTFOUND  = -404,
	ERR_METHOD    = -405,
	ERR_NOTACCEPT = -406,
	ERR_CONFLICT  = -409,
	ERR_GONE      = -410,
	ERR_TOOBIG    = -413,
	ERR_UNSUPPORTED_MEDIA = -415,
	ERR_RANGE     = -416,
	ERR_LOCKED    = -423,
	ERR_TOOMANY   = -429,
	ERR_INTERNAL  = -500,
	ERR_NOTIMPL   = -501,
	ERR_UNAVAIL   = -503,
};

/* The HTTP status for an error code (500 for anything unknown). */
static inline int err_status(int code) { return (code <= -400 && code >= -599) ? -code : 500; }

/* The standard reason phrase for an HTTP status ("Not Found"). */
const char *err_title(int status);

#endif
