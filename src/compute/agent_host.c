/* agent_host.c — the controller asking a remote compute agent about one of its guests: the
 * console log and the VNC address live on the agent's host, so the controller calls the listener
 * URL the agent registered (cmp_services.agent_url), proving itself with the secret it handed
 * out at that registration (agent_api.c). */
#include "compute/remote.h"
#include "compute/cmp.h"
#include "core/httpc.h"
#include "core/conf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT_MS 10000

/* GET path (under the agent's /agent-host/v1) on host's agent: 0 with *resp (any status), or
 * ERR_CONFLICT when the host has no remote agent or it does not answer. */
static int agent_get(struct compute_svc *svc, const char *host, const char *path, struct httpc_resp *resp)
{
	struct db_conn *c = db_get(svc->db);
	struct db_rows *rows = NULL;
	int rc = db_query(c, &rows, "SELECT agent_url, agent_secret FROM cmp_services WHERE host = ? AND"
			  " service_binary = 'nova-compute' AND agent_url IS NOT NULL", DB_TEXT(host));
	char url[2048] = "", secret[160] = "";
	if (rc == 0 && db_rows_count(rows) > 0) {
		snprintf(url, sizeof url, "%s" CMP_AGENT_HOST_PREFIX "/v1%s", db_text(rows, 0, 0), path);
		snprintf(secret, sizeof secret, CMP_AGENT_SECRET_HEADER ": %s", db_text(rows, 0, 1) ? db_text(rows, 0, 1) : "");
	}
	db_rows_free(rows);
	db_put(c);
	if (!url[0])
		return ERR_CONFLICT;
	const char *hdrs[] = { secret, "User-Agent: monostack-controller", NULL };
	const char *ca = conf_str("agent", "ca_file");
	struct httpc_req q = { .method = "GET", .url = url, .headers = hdrs, .body_fd = -1, .out_fd = -1,
			       .timeout_ms = CALL_TIMEOUT_MS, .ca_file = *ca ? ca : NULL };
	char err[256];
	if (httpc_do(&q, resp, err, sizeof err) < 0) {
		log_warn("compute: the agent of host %s does not answer: %s", host, err);
		return ERR_CONFLICT;
	}
	return 0;
}

int cmp_remote_console_log(struct compute_svc *svc, const char *host, const char *uuid, size_t max, char **out,
			   size_t *len)
{
	if (!host || !uuid_valid(uuid))
		return ERR_CONFLICT;
	char path[128];
	snprintf(path, sizeof path, "/instances/%s/console?max=%zu", uuid, max);
	struct httpc_resp resp;
	int rc = agent_get(svc, host, path, &resp);
	if (rc < 0)
		return rc;
	if (resp.status == 200) {
		*out = resp.body;
		*len = resp.len;
		resp.body = NULL;
		rc = 0;
	} else {
		if (resp.status != 404)
			log_warn("compute: console log of %s from the agent of %s: %d", uuid, host, resp.status);
		rc = resp.status == 404 ? ERR_NOTFOUND : resp.status == 501 ? ERR_NOTIMPL : ERR_CONFLICT;
	}
	httpc_resp_free(&resp);
	return rc;
}

int cmp_remote_vnc(struct compute_svc *svc, const char *host, const char *uuid, char hostbuf[64], int *port)
{
	if (!host || !uuid_valid(uuid))
		return ERR_CONFLICT;
	char path[128];
	snprintf(path, sizeof path, "/instances/%s/vnc", uuid);
	struct httpc_resp resp;
	int rc = agent_get(svc, host, path, &resp);
	if (rc < 0)
		return rc;
	json_t *j = resp.status == 200 ? json_loads(resp.body ? resp.body : "", 0, NULL) : NULL;
	const char *h = json_string_value(json_object_get(j, "host"));
	json_int_t p = json_integer_value(json_object_get(j, "port"));
	if (h && strlen(h) < 64 && p > 0 && p < 65536) {
		snprintf(hostbuf, 64, "%s", h);
		*port = (int)p;
		rc = 0;
	} else {
		rc = resp.status == 200 || resp.status == 501 || resp.status == 404 ? ERR_NOTIMPL : ERR_CONFLICT;
	}
	json_decref(j);
	httpc_resp_free(&resp);
	return rc;
}
