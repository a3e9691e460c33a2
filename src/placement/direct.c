/* direct.c — the in-process calls of placement.h for the compute scheduler and agent: the same
 * operations the HTTP API runs (inventories, traits, aggregates, allocations with their capacity
 * rules), on the caller's connection, inside its transaction (as a savepoint) when one is open. */
#include "placement/plc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return rc;
}

static int db_fail(struct db_conn *c, char *err, size_t errlen, int rc)
{
	if (err && errlen)
		snprintf(err, errlen, "placement database error: %s", db_errmsg(c));
	return rc < 0 ? rc : ERR_INTERNAL;
}

/* Creates or renames the provider; *rp receives it. */
static int ensure_row(struct db_conn *c, const char *uuid, const char *name, struct plc_rp *rp,
		      struct plc_err *e)
{
	int rc = plc_rp_load(c, uuid, rp);
	if (rc == ERR_INTERNAL)
		return plc_fail(e, rc, NULL, "database error");
	int64_t now = time_now_us();
	if (rc == ERR_NOTFOUND) {
		rc = db_exec(c, "INSERT INTO plc_providers (uuid, name, generation, parent_uuid, root_uuid, "
			     "created_at, updated_at) VALUES (?, ?, 0, NULL, ?, ?, ?)", DB_TEXT(uuid),
			     DB_TEXT(name), DB_TEXT(uuid), DB_INT(now), DB_INT(now));
		if (rc == ERR_CONFLICT)
			return plc_fail(e, rc, PLC_CODE_DUPLICATE, "Conflicting resource provider name: %s "
					"already exists.", name);
		if (rc < 0)
			return plc_fail(e, ERR_INTERNAL, NULL, "database error");
		return plc_rp_load(c, uuid, rp) < 0 ? plc_fail(e, ERR_INTERNAL, NULL, "database error") : 0;
	}
	if (strcmp(rp->name, name)) {
		rc = db_exec(c, "UPDATE plc_providers SET name = ?, updated_at = ? WHERE uuid = ?",
			     DB_TEXT(name), DB_INT(now), DB_TEXT(uuid));
		if (rc == ERR_CONFLICT)
			return plc_fail(e, rc, PLC_CODE_DUPLICATE, "Conflicting resource provider name: %s "
					"already exists.", name);
		if (rc < 0)
			return plc_fail(e, ERR_INTERNAL, NULL, "database error");
		snprintf(rp->name, sizeof rp->name, "%s", name);
	}
	return 0;
}

int placement_provider_ensure(struct db_conn *c, const char *uuid, const char *name,
			      const struct placement_inv *inv, int ninv,
			      const char *const *traits, int ntraits, char *err, size_t errlen)
{
	char id[37];
	if (!plc_uuid_like(uuid, id))
		return fail(err, errlen, ERR_BADREQ, "provider uuid is not a uuid");
	if (!name || !*name || strlen(name) > PLC_NAME_MAX)
		return fail(err, errlen, ERR_BADREQ, "provider name must have 1 to 200 characters");
	if (ninv < 0 || ninv > PLC_MAX_ITEMS || ntraits < 0 || ntraits > PLC_MAX_ITEMS)
		return fail(err, errlen, ERR_BADREQ, "too many inventories or traits");
	struct plc_inv *list = xcalloc((size_t)ninv + 1, sizeof *list);
	for (int i = 0; i < ninv; i++) {
		if (!inv[i].rc || strlen(inv[i].rc) > PLC_CLASS_MAX || inv[i].total < 1 || inv[i].reserved < 0) {
			free(list);
			return fail(err, errlen, ERR_BADREQ, "bad inventory record");
		}
		snprintf(list[i].rc, sizeof list[i].rc, "%s", inv[i].rc);
		list[i].total = inv[i].total;
		list[i].reserved = inv[i].reserved;
		list[i].min_unit = inv[i].min_unit > 0 ? inv[i].min_unit : 1;
		list[i].max_unit = inv[i].max_unit > 0 ? inv[i].max_unit : PLC_MAX_INT;
		list[i].step_size = inv[i].step_size > 0 ? inv[i].step_size : 1;
		list[i].ratio = inv[i].allocation_ratio > 0 ? inv[i].allocation_ratio : 1.0;
	}
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0) {
		free(list);
		return db_fail(c, err, errlen, rc);
	}
	struct plc_err e = { 0 };
	struct plc_rp rp;
	rc = ensure_row(c, id, name, &rp, &e);
	for (int i = 0; rc == 0 && i < ntraits; i++)      /* custom traits come into being on demand */
		if (traits[i] && plc_custom_ok(traits[i]) && !plc_trait_exists(c, traits[i])) {
			int64_t now = time_now_us();
			if (db_exec(c, "INSERT INTO plc_traits (name, created_at, updated_at) VALUES (?, ?, ?)",
				    DB_TEXT(traits[i]), DB_INT(now), DB_INT(now)) < 0)
				rc = plc_fail(&e, ERR_INTERNAL, NULL, "database error");
		}
	if (rc == 0)
		rc = plc_inv_replace(c, &rp, list, ninv, true, NULL, &e);
	if (rc == 0 && ntraits > 0)
		rc = plc_traits_replace(c, &rp, traits, ntraits, true, &e);
	free(list);
	rc = plc_tx_end(c, own, rc);
	if (rc < 0)
		return e.msg[0] ? fail(err, errlen, rc, e.msg) : db_fail(c, err, errlen, rc);
	return 0;
}

int placement_provider_delete(struct db_conn *c, const char *uuid, char *err, size_t errlen)
{
	bool own;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return db_fail(c, err, errlen, rc);
	struct plc_err e = { 0 };
	rc = plc_rp_delete(c, uuid, &e);
	if (rc == ERR_NOTFOUND)
		rc = 0;                  /* already gone */
	rc = plc_tx_end(c, own, rc);
	if (rc < 0)
		return e.msg[0] ? fail(err, errlen, rc, e.msg) : db_fail(c, err, errlen, rc);
	return 0;
}

int placement_provider_set_aggregates(struct db_conn *c, const char *uuid, const char *const *aggs,
				      int naggs, char *err, size_t errlen)
{
	if (naggs < 0 || naggs > PLC_MAX_ITEMS)
		return fail(err, errlen, ERR_BADREQ, "too many aggregates");
	char (*ids)[37] = xcalloc((size_t)naggs + 1, sizeof *ids);
	const char **list = xcalloc((size_t)naggs + 1, sizeof *list);
	for (int i = 0; i < naggs; i++) {
		if (!plc_uuid_like(aggs[i], ids[i])) {
			free(ids);
			free(list);
			return fail(err, errlen, ERR_BADREQ, "aggregate is not a uuid");
		}
		list[i] = ids[i];
	}
	bool own;
	int rc = plc_tx_begin(c, &own);
	struct plc_err e = { 0 };
	if (rc == 0) {
		struct plc_rp rp;
		rc = plc_rp_load(c, uuid, &rp);
		if (rc == ERR_NOTFOUND)
			plc_fail(&e, rc, NULL, "No resource provider with uuid %s found", uuid);
		else if (rc == 0)
			rc = plc_aggs_replace(c, &rp, list, naggs, true, &e);
		rc = plc_tx_end(c, own, rc);
	}
	free(ids);
	free(list);
	if (rc < 0)
		return e.msg[0] ? fail(err, errlen, rc, e.msg) : db_fail(c, err, errlen, rc);
	return 0;
}

int placement_claim(struct db_conn *c, const char *consumer, const char *project_id,
		    const char *user_id, const char *rp, const struct placement_res *res, int nres,
		    char *err, size_t errlen)
{
	char cid[37], rid[37];
	if (!plc_uuid_like(consumer, cid) || !plc_uuid_like(rp, rid))
		return fail(err, errlen, ERR_BADREQ, "consumer and provider must be uuids");
	if (nres < 0 || nres > PLC_MAX_ITEMS)
		return fail(err, errlen, ERR_BADREQ, "too many resources");
	struct plc_alloc *allocs = xcalloc((size_t)nres + 1, sizeof *allocs);
	int n = 0;
	for (int i = 0; i < nres; i++) {
		if (!res[i].rc)
			continue;
		if (res[i].amount < 0 || res[i].amount > PLC_MAX_INT) {
			free(allocs);
			return fail(err, errlen, ERR_BADREQ, "resource amount out of range");
		}
		if (res[i].amount == 0)      /* nothing to hold (a flavor without disk, say) */
			continue;
		allocs[n++] = (struct plc_alloc){ rid, res[i].rc, res[i].amount };
	}
	struct plc_consumer_write w = {
		.uuid = cid,
		.project_id = project_id && *project_id ? project_id : "00000000-0000-0000-0000-000000000000",
		.user_id = user_id && *user_id ? user_id : "00000000-0000-0000-0000-000000000000",
		.consumer_type = "INSTANCE",
		.allocs = allocs,
		.nallocs = n,
	};
	bool own;
	int rc = plc_tx_begin(c, &own);
	struct plc_err e = { 0 };
	if (rc == 0)
		rc = plc_tx_end(c, own, plc_alloc_write(c, &w, 1, &e));
	free(allocs);
	if (rc < 0)
		return e.msg[0] ? fail(err, errlen, rc, e.msg) : db_fail(c, err, errlen, rc);
	return 0;
}

int placement_release(struct db_conn *c, const char *consumer)
{
	bool own, found;
	int rc = plc_tx_begin(c, &own);
	if (rc < 0)
		return rc;
	return plc_tx_end(c, own, plc_alloc_delete(c, consumer, &found));
}

/* --- candidates (one provider holds everything: the compute scheduler's case) --- */

static const char *const basic_rcs[3] = { "VCPU", "MEMORY_MB", "DISK_GB" };

int placement_candidates(struct db_conn *c, const struct placement_query *q,
			 struct placement_candidate **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (q->nres < 0 || q->nres > 64 || q->nrequired < 0 || q->nforbidden < 0 || q->nmember_of < 0 ||
	    q->nin_tree < 0)
		return ERR_BADREQ;
	struct arena *a = arena_new();
	struct sqlbuf s;
	sqlbuf_init(&s, a, "SELECT p.uuid, p.name FROM plc_providers p WHERE 1 = 1");
	if (q->in_tree) {
		if (!q->nin_tree) {
			arena_free(a);
			return 0;
		}
		sqlbuf_add(&s, " AND p.uuid IN ");
		sqlbuf_in(&s, q->in_tree, q->nin_tree);
	}
	for (int i = 0; i < q->nres; i++) {
		if (!q->res[i].rc || q->res[i].amount <= 0)
			continue;
		sqlbuf_add(&s, " AND EXISTS (SELECT 1 FROM plc_inventories i WHERE i.provider_uuid = p.uuid"
			    " AND i.rc = ? AND i.min_unit <= ? AND i.max_unit >= ? AND ? % i.step_size = 0"
			    " AND (i.total - i.reserved) * i.allocation_ratio >= ? + COALESCE((SELECT"
			    " SUM(x.used) FROM plc_allocations x WHERE x.provider_uuid = i.provider_uuid"
			    " AND x.rc = i.rc), 0))");
		sqlbuf_text(&s, q->res[i].rc);
		for (int k = 0; k < 4; k++)
			sqlbuf_int(&s, q->res[i].amount);
	}
	for (int i = 0; i < q->nrequired; i++) {
		sqlbuf_add(&s, " AND EXISTS (SELECT 1 FROM plc_provider_traits t WHERE t.provider_uuid = "
			    "p.uuid AND t.trait = ?)");
		sqlbuf_text(&s, q->required[i]);
	}
	if (q->nforbidden) {
		sqlbuf_add(&s, " AND NOT EXISTS (SELECT 1 FROM plc_provider_traits t WHERE t.provider_uuid = "
			    "p.uuid AND t.trait IN ");
		sqlbuf_in(&s, q->forbidden, q->nforbidden);
		sqlbuf_add(&s, ")");
	}
	if (q->member_of && q->nmember_of) {
		sqlbuf_add(&s, " AND EXISTS (SELECT 1 FROM plc_provider_aggregates g WHERE g.provider_uuid = "
			    "p.uuid AND g.aggregate IN ");
		sqlbuf_in(&s, q->member_of, q->nmember_of);
		sqlbuf_add(&s, ")");
	}
	sqlbuf_add(&s, " ORDER BY p.created_at, p.uuid");
	if (q->limit > 0) {
		sqlbuf_add(&s, " LIMIT ?");
		sqlbuf_int(&s, q->limit);
	}
	struct db_rows *rows;
	int rc = db_query_a(c, &rows, s.text, sqlbuf_args(&s));
	if (rc < 0) {
		arena_free(a);
		return rc;
	}
	int count = db_rows_count(rows);
	struct placement_candidate *cands = xcalloc((size_t)count + 1, sizeof *cands);
	for (int i = 0; i < count; i++) {
		snprintf(cands[i].uuid, sizeof cands[i].uuid, "%s", db_text(rows, i, 0));
		snprintf(cands[i].name, sizeof cands[i].name, "%s", db_text(rows, i, 1));
	}
	db_rows_free(rows);
	if (count) {
		const char **ids = arena_alloc(a, (size_t)count * sizeof *ids);
		for (int i = 0; i < count; i++)
			ids[i] = cands[i].uuid;
		struct sqlbuf u;
		sqlbuf_init(&u, a, "SELECT i.provider_uuid, i.rc, i.total, i.reserved, i.allocation_ratio, "
			     "COALESCE((SELECT SUM(x.used) FROM plc_allocations x WHERE x.provider_uuid = "
			     "i.provider_uuid AND x.rc = i.rc), 0) FROM plc_inventories i WHERE i.rc IN "
			     "('VCPU', 'MEMORY_MB', 'DISK_GB') AND i.provider_uuid IN ");
		sqlbuf_in(&u, ids, count);
		rc = db_query_a(c, &rows, u.text, sqlbuf_args(&u));
		if (rc < 0) {
			free(cands);
			arena_free(a);
			return rc;
		}
		for (int k = 0; k < db_rows_count(rows); k++) {
			const char *p = db_text(rows, k, 0), *rcn = db_text(rows, k, 1);
			int slot = -1;
			for (int b = 0; b < 3; b++)
				if (!strcmp(rcn, basic_rcs[b]))
					slot = b;
			for (int i = 0; i < count && slot >= 0; i++) {
				if (strcmp(cands[i].uuid, p))
					continue;
				struct plc_inv inv = { .total = db_int(rows, k, 2), .reserved = db_int(rows, k, 3),
						       .ratio = strtod(db_text(rows, k, 4), NULL) };
				cands[i].capacity[slot] = (int64_t)plc_inv_capacity(&inv);
				cands[i].used[slot] = db_int(rows, k, 5);
			}
		}
		db_rows_free(rows);
	}
	arena_free(a);
	*out = cands;
	*n = count;
	return 0;
}
