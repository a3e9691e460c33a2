/* quota.c — the limits on what a project may store ([image] image_count_quota and
 * user_storage_quota, counted from the database, not from a drifting counter) and on what one
 * image may carry (properties, tags, members). Over a limit is 413, as Glance answers. */
#include "image/img.h"
#include "core/conf.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int img_parse_size(const char *s, int64_t *out)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	static const struct { const char *unit; int shift; } units[] = {
		{ "", 0 }, { "B", 0 }, { "KB", 10 }, { "MB", 20 }, { "GB", 30 }, { "TB", 40 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(end, units[i].unit))
			continue;
		if (v > (unsigned long long)INT64_MAX >> units[i].shift)
			return -1;
		*out = (int64_t)(v << units[i].shift);
		return 0;
	}
	return -1;
}

static int64_t storage_quota(void)
{
	int64_t q = 0;
	if (img_parse_size(conf_str("image", "user_storage_quota"), &q))
		return 0;
	return q;
}

int img_quota_check(struct http_req *r, const char *owner, int64_t bytes, bool new_image)
{
	int64_t count_max = conf_int("image", "image_count_quota"), bytes_max = storage_quota();
	if (!owner || ((!new_image || count_max < 0) && (bytes <= 0 || bytes_max <= 0)))
		return 0;
	struct db_rows *rows;
	int rc = db_query(img_db(r), &rows,
			  "SELECT COUNT(*), COALESCE(SUM(COALESCE(size, 0) + COALESCE(staged, 0)), 0)"
			  " FROM img_images WHERE owner = ?", DB_TEXT(owner));
	if (rc < 0)
		return img_db_error(r, rc, "quota");
	int64_t count = db_int(rows, 0, 0), used = db_int(rows, 0, 1);
	db_rows_free(rows);
	if (new_image && count_max >= 0 && count + 1 > count_max) {
		img_rollback(r);
		return http_error(r, ERR_TOOBIG, "Maximum number of images exceeded: project %s may own %lld images",
				  owner, (long long)count_max);
	}
	if (bytes > 0 && bytes_max > 0 && used + bytes > bytes_max) {
		img_rollback(r);
		return http_error(r, ERR_TOOBIG, "Denying attempt to upload image because it exceeds the quota:"
				  " The size of the data %lld will exceed the limit. %lld bytes remaining.",
				  (long long)bytes, (long long)(bytes_max > used ? bytes_max - used : 0));
	}
	return 0;
}

static int over(struct http_req *r, const char *what, int64_t n, const char *opt)
{
	int64_t max = conf_int("image", opt);
	if (max >= 0 && n > max)
		return http_error(r, ERR_TOOBIG, "The limit has been exceeded on the number of allowed %s."
				  " Attempted: %lld, Maximum: %lld", what, (long long)n, (long long)max);
	return 0;
}

int img_quota_props(struct http_req *r, const json_t *props)
{
	return over(r, "image properties", (int64_t)json_object_size(props), "image_property_quota");
}

int img_quota_tags(struct http_req *r, const json_t *tags)
{
	return over(r, "image tags", (int64_t)json_array_size(tags), "image_tag_quota");
}

int img_quota_members(struct http_req *r, int64_t count)
{
	return over(r, "image members", count, "image_member_quota");
}
