/* candidates.h — the parsed form of a GET /allocation_candidates request, shared by its parser
 * (candidates_parse.c) and the search (candidates.c). Private to src/placement. */
#ifndef PLACEMENT_CANDIDATES_H
#define PLACEMENT_CANDIDATES_H
#include "placement/plc.h"

#define CAND_MAX_GROUPS 16
#define CAND_MAX_RES 16

/* One request group: the unsuffixed one (resources may come from several providers of a tree)
 * or a suffixed/granular one (one provider satisfies all of it). */
struct cand_group {
	const char *suffix;                 /* "" for the unsuffixed group */
	bool same_provider;
	struct plc_amount res[CAND_MAX_RES];
	int nres;
	struct plc_traitq traits;
	struct plc_aggq aggs;
	const char *in_tree;                /* dashed uuid or NULL */
	char in_tree_root[37];              /* resolved by the search ("" unresolved) */
};

struct cand_request {
	struct cand_group groups[CAND_MAX_GROUPS];
	int ngroups;
	int64_t limit;                      /* 0: none */
	const char *group_policy;           /* NULL, "none" or "isolate" */
	const char *root_required[64];      /* anchor traits */
	int nroot_required;
	const char *root_forbidden[64];
	int nroot_forbidden;
	const char *same_subtree[16][CAND_MAX_GROUPS];   /* suffix sets */
	int same_subtree_len[16];
	int nsame_subtree;
};

/* Parses the query string at r's microversion: 0, or 400 recorded in r. */
int cand_parse(struct http_req *r, struct cand_request *q);

#endif
