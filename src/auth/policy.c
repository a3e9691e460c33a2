/* policy.c — the oslo.policy rule language: every rule is parsed once into a check tree,
 * then evaluated against the caller's credentials and a flat target without allocating.
 * Override files (YAML through libyaml, JSON through jansson) replace or add rules by name. */
#include "auth/policy.h"
#include "core/arena.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

enum {
	POLICY_MAX_NEST = 32,          /* parentheses and 'not' nesting inside one rule */
	POLICY_MAX_RULE_DEPTH = 32,    /* rule:x references followed during one check */
	POLICY_MAX_EVAL_DEPTH = 256,   /* check-tree recursion during one check (stack guard) */
	POLICY_MAX_STEPS = 100000,     /* nodes visited during one check (exponential DAGs) */
	POLICY_MAX_EXPR = 65536,       /* bytes in one rule expression */
	POLICY_MAX_NAME = 1024,        /* bytes in one rule name */
};
#define POLICY_MAX_FILE ((size_t)16 << 20)

enum node_kind { N_TRUE, N_FALSE, N_NOT, N_AND, N_OR, N_RULE, N_ROLE, N_GENERIC };

/* What the left side of a generic check KIND:MATCH names. */
enum attr {
	A_UNKNOWN,                 /* not a credential we have: never matches */
	A_LITERAL,                 /* 'text', True, False, None or an integer */
	A_USER_ID, A_USER_DOMAIN_ID, A_PROJECT_ID, A_PROJECT_DOMAIN_ID, A_DOMAIN_ID,
	A_SYSTEM_SCOPE, A_ROLES, A_IS_ADMIN,
	A_TOKEN_USER_ID, A_TOKEN_USER_DOMAIN_ID, A_TOKEN_PROJECT_ID, A_TOKEN_PROJECT_DOMAIN_ID,
	A_TOKEN_DOMAIN_ID, A_TOKEN_SYSTEM_ALL, A_TOKEN_ROLES_NAME,
};

static const struct { const char *name; enum attr attr; } attr_names[] = {
	{ "user_id", A_USER_ID },
	{ "user_domain_id", A_USER_DOMAIN_ID },
	{ "project_id", A_PROJECT_ID },
	{ "project_domain_id", A_PROJECT_DOMAIN_ID },
	{ "domain_id", A_DOMAIN_ID },
	{ "system_scope", A_SYSTEM_SCOPE },
	{ "roles", A_ROLES },
	{ "is_admin", A_IS_ADMIN },
	{ "token.user.id", A_TOKEN_USER_ID },
	{ "token.user.domain.id", A_TOKEN_USER_DOMAIN_ID },
	{ "token.project.id", A_TOKEN_PROJECT_ID },
	{ "token.project.domain.id", A_TOKEN_PROJECT_DOMAIN_ID },
	{ "token.domain.id", A_TOKEN_DOMAIN_ID },
	{ "token.system.all", A_TOKEN_SYSTEM_ALL },
	{ "token.roles.name", A_TOKEN_ROLES_NAME },
};

/* A match string after parsing: literal pieces and %(key)s substitutions from the target. */
struct seg {
	char *text;                /* NUL-terminated: literal text, or the target key */
	size_t len;
	bool key;
};

struct tmpl {
	struct seg *segs;
	size_t nsegs;
};

struct node {
	enum node_kind kind;
	struct node **kids;        /* N_NOT: one; N_AND, N_OR: nkids */
	size_t nkids;
	char *name;                /* N_RULE: the rule referenced */
	size_t rule;               /* N_RULE: index + 1 into policy->rules, 0 when undefined */
	enum attr attr;            /* N_GENERIC */
	char *literal;             /* N_GENERIC with A_LITERAL: the value as Python's str() */
	struct tmpl match;         /* N_ROLE, N_GENERIC */
};

struct rule {
	char *name;
	struct node *root;
};

struct policy {
	struct rule *rules;
	size_t nrules, cap;
	uint32_t *slots;           /* open addressing: index + 1 into rules, 0 empty */
	size_t nslots;             /* a power of two, at least twice nrules */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A NUL-terminated copy of n bytes; aborts on out-of-memory like xstrdup. */
static char *dup_n(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- check trees ---- */

static void tmpl_clear(struct tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		free(t->segs[i].text);
	free(t->segs);
	t->segs = NULL;
	t->nsegs = 0;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->literal);
	tmpl_clear(&n->match);
	free(n);
}

static struct node *node_new(enum node_kind kind)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	return n;
}

static void node_add(struct node *n, struct node *kid)
{
	n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

static void tmpl_push(struct tmpl *t, const char *s, size_t len, bool key)
{
	/* Adjacent literal pieces are merged so "%%" costs nothing at check time. */
	if (!key && t->nsegs && !t->segs[t->nsegs - 1].key) {
		struct seg *last = &t->segs[t->nsegs - 1];

		last->text = xrealloc(last->text, last->len + len + 1);
		memcpy(last->text + last->len, s, len);
		last->len += len;
		last->text[last->len] = '\0';
		return;
	}
	if (!len && !key)
		return;
	t->segs = xrealloc(t->segs, (t->nsegs + 1) * sizeof(*t->segs));
	t->segs[t->nsegs].text = dup_n(s, len);
	t->segs[t->nsegs].len = len;
	t->segs[t->nsegs].key = key;
	t->nsegs++;
}

/* Parses Python %-formatting against a mapping: "%(key)s" and "%%"; anything else is an error
 * (oslo.policy would raise at check time). */
static int tmpl_parse(struct tmpl *t, const char *s, size_t len, char *err, size_t errlen)
{
	size_t i = 0, lit = 0;

	while (i < len) {
		if (s[i] != '%') {
			i++;
			continue;
		}
		tmpl_push(t, s + lit, i - lit, false);
		if (i + 1 < len && s[i + 1] == '%') {
			tmpl_push(t, "%", 1, false);
			i += 2;
			lit = i;
			continue;
		}
		if (i + 1 >= len || s[i + 1] != '(') {
			set_err(err, errlen, "bad substitution in \"%.*s\" (only %%(key)s and %%%% are allowed)",
				(int)len, s);
			return -1;
		}
		/* Python matches nested parentheses inside the key. */
		size_t k = i + 2, depth = 1;
		for (; k < len; k++) {
			if (s[k] == '(')
				depth++;
			else if (s[k] == ')' && --depth == 0)
				break;
		}
		if (k >= len || k + 1 >= len || s[k + 1] != 's') {
			set_err(err, errlen, "bad substitution in \"%.*s\" (only %%(key)s and %%%% are allowed)",
				(int)len, s);
			return -1;
		}
		tmpl_push(t, s + i + 2, k - (i + 2), true);
		i = k + 2;
		lit = i;
	}
	tmpl_push(t, s + lit, len - lit, false);
	return 0;
}

/* The subset of ast.literal_eval() a check kind may be: quoted text, True, False, None, an
 * integer. Returns the value as Python's str() would print it, or NULL when not a literal. */
static char *literal_kind(const char *s, size_t len)
{
	if (len >= 2 && (s[0] == '\'' || s[0] == '"') && s[len - 1] == s[0])
		return dup_n(s + 1, len - 2);
	if ((len == 4 && !memcmp(s, "True", 4)) || (len == 5 && !memcmp(s, "False", 5)) ||
	    (len == 4 && !memcmp(s, "None", 4)))
		return dup_n(s, len);
	size_t i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	if (i == len || len > 20)
		return NULL;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return NULL;
	char buf[24], out[24];
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	long long v = strtoll(buf, NULL, 10);
	if (errno)
		return NULL;
	snprintf(out, sizeof(out), "%lld", v);
	return xstrdup(out);
}

static enum attr attr_lookup(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (strlen(attr_names[i].name) == len && !memcmp(attr_names[i].name, s, len))
			return attr_names[i].attr;
	return A_UNKNOWN;
}

/* One check token: "!", "@", rule:NAME, role:NAME, or a generic KIND:MATCH. */
static struct node *parse_check(const char *s, size_t len, char *err, size_t errlen)
{
	if (len == 1 && s[0] == '!')
		return node_new(N_FALSE);
	if (len == 1 && s[0] == '@')
		return node_new(N_TRUE);

	const char *colon = memchr(s, ':', len);
	if (!colon) {
		set_err(err, errlen, "\"%.*s\" is not a check (expected KIND:MATCH, '@' or '!')",
			(int)len, s);
		return NULL;
	}
	size_t klen = (size_t)(colon - s), mlen = len - klen - 1;
	const char *m = colon + 1;
	struct node *n;

	if (klen == 4 && !memcmp(s, "rule", 4)) {
		n = node_new(N_RULE);
		n->name = dup_n(m, mlen);
		return n;
	}
	if ((klen == 4 && !memcmp(s, "http", 4)) || (klen == 5 && !memcmp(s, "https", 5))) {
		set_err(err, errlen, "\"%.*s\": remote %.*s checks are not supported",
			(int)len, s, (int)klen, s);
		return NULL;
	}
	if (klen == 4 && !memcmp(s, "role", 4)) {
		n = node_new(N_ROLE);
	} else {
		n = node_new(N_GENERIC);
		n->literal = literal_kind(s, klen);
		n->attr = n->literal ? A_LITERAL : attr_lookup(s, klen);
	}
	if (tmpl_parse(&n->match, m, mlen, err, errlen) < 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* ---- tokenizer and parser (precedence: not > and > or, as oslo.policy's reducer) ---- */

enum tok_kind { T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_CHECK, T_STRING };

struct tok {
	enum tok_kind kind;
	const char *s;
	size_t len;
};

struct parser {
	struct tok *toks;
	size_t ntoks, cap, i;
	int nest;
	char *err;
	size_t errlen;
};

static void tok_push(struct parser *ps, enum tok_kind kind, const char *s, size_t len)
{
	if (ps->ntoks == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		ps->toks = xrealloc(ps->toks, ps->cap * sizeof(*ps->toks));
	}
	ps->toks[ps->ntoks++] = (struct tok){ kind, s, len };
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool word_is(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && !strncasecmp(s, kw, len);
}

/* Mirrors oslo_policy._parser._parse_tokenize: split on whitespace, peel leading '(' and
 * trailing ')', keywords are case-insensitive, a whole 'quoted' word is a string. */
static void tokenize(struct parser *ps, const char *s)
{
	const char *p = s;

	for (;;) {
		while (*p && is_space(*p))
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (*p && !is_space(*p))
			p++;
		size_t len = (size_t)(p - w);

		while (len && *w == '(') {
			tok_push(ps, T_LPAREN, w, 1);
			w++;
			len--;
		}
		if (!len)
			continue;
		size_t clean = len, trail = 0;
		while (clean && w[clean - 1] == ')') {
			clean--;
			trail++;
		}
		if (clean) {
			if (word_is(w, clean, "and"))
				tok_push(ps, T_AND, w, clean);
			else if (word_is(w, clean, "or"))
				tok_push(ps, T_OR, w, clean);
			else if (word_is(w, clean, "not"))
				tok_push(ps, T_NOT, w, clean);
			else if (len >= 2 && (w[0] == '"' || w[0] == '\'') && w[len - 1] == w[0])
				tok_push(ps, T_STRING, w, len);
			else
				tok_push(ps, T_CHECK, w, clean);
		}
		for (size_t i = 0; i < trail; i++)
			tok_push(ps, T_RPAREN, w + clean + i, 1);
	}
}

static const struct tok *peek(struct parser *ps)
{
	return ps->i < ps->ntoks ? &ps->toks[ps->i] : NULL;
}

static struct node *parse_or(struct parser *ps);

static struct node *parse_unary(struct parser *ps)
{
	const struct tok *t = peek(ps);
	struct node *n, *kid;

	if (!t) {
		set_err(ps->err, ps->errlen, "unexpected end of rule");
		return NULL;
	}
	switch (t->kind) {
	case T_NOT:
	case T_LPAREN:
		if (++ps->nest > POLICY_MAX_NEST) {
			set_err(ps->err, ps->errlen, "rule nested more than %d deep", POLICY_MAX_NEST);
			return NULL;
		}
		ps->i++;
		if (t->kind == T_NOT) {
			kid = parse_unary(ps);
			if (!kid)
				return NULL;
			n = node_new(N_NOT);
			node_add(n, kid);
		} else {
			n = parse_or(ps);
			if (!n)
				return NULL;
			t = peek(ps);
			if (!t || t->kind != T_RPAREN) {
				if (t)
					set_err(ps->err, ps->errlen, "expected ')' before \"%.*s\"",
						(int)t->len, t->s);
				else
					set_err(ps->err, ps->errlen, "missing ')'");
				node_free(n);
				return NULL;
			}
			ps->i++;
		}
		ps->nest--;
		return n;
	case T_CHECK:
		ps->i++;
		return parse_check(t->s, t->len, ps->err, ps->errlen);
	case T_STRING:
		set_err(ps->err, ps->errlen, "quoted string %.*s is not a check", (int)t->len, t->s);
		return NULL;
	default:
		set_err(ps->err, ps->errlen, "unexpected \"%.*s\"", (int)t->len, t->s);
		return NULL;
	}
}

/* One level of a binary operator: kid (op kid)*, flattened into a single n-ary node. */
static struct node *parse_binary(struct parser *ps, enum tok_kind op, enum node_kind kind,
				 struct node *(*sub)(struct parser *))
{
	struct node *first = sub(ps), *n = NULL;
	const struct tok *t;

	if (!first)
		return NULL;
	while ((t = peek(ps)) && t->kind == op) {
		ps->i++;
		struct node *kid = sub(ps);
		if (!kid) {
			node_free(n ? n : first);
			return NULL;
		}
		if (!n) {
			n = node_new(kind);
			node_add(n, first);
		}
		node_add(n, kid);
	}
	return n ? n : first;
}

static struct node *parse_and(struct parser *ps)
{
	return parse_binary(ps, T_AND, N_AND, parse_unary);
}

static struct node *parse_or(struct parser *ps)
{
	return parse_binary(ps, T_OR, N_OR, parse_and);
}

/* Parses one rule expression; "" is always true (as oslo.policy). NULL with err on error. */
static struct node *parse_expr(const char *expr, char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen };
	struct node *n = NULL;

	if (!*expr)
		return node_new(N_TRUE);
	if (strlen(expr) > POLICY_MAX_EXPR) {
		set_err(err, errlen, "rule longer than %d bytes", POLICY_MAX_EXPR);
		return NULL;
	}
	tokenize(&ps, expr);
	if (!ps.ntoks) {
		set_err(err, errlen, "rule is blank (use \"\" to allow everyone, \"!\" for no one)");
		goto out;
	}
	n = parse_or(&ps);
	if (n && ps.i < ps.ntoks) {
		const struct tok *t = &ps.toks[ps.i];
		set_err(err, errlen, "unexpected \"%.*s\"", (int)t->len, t->s);
		node_free(n);
		n = NULL;
	}
out:
	free(ps.toks);
	return n;
}

/* ---- the rule table ---- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static size_t rule_find(const struct policy *p, const char *name)
{
	if (!p || !p->nslots)
		return 0;
	size_t mask = p->nslots - 1;
	for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
		uint32_t slot = p->slots[i];
		if (!slot)
			return 0;
		if (!strcmp(p->rules[slot - 1].name, name))
			return slot;
	}
}

static void rehash(struct policy *p)
{
	size_t n = 16;

	while (n < 2 * p->nrules + 2)
		n *= 2;
	free(p->slots);
	p->slots = xcalloc(n, sizeof(*p->slots));
	p->nslots = n;
	for (size_t r = 0; r < p->nrules; r++)
		for (size_t i = name_hash(p->rules[r].name) & (n - 1);; i = (i + 1) & (n - 1))
			if (!p->slots[i]) {
				p->slots[i] = (uint32_t)(r + 1);
				break;
			}
}

/* Sets or replaces rule name; takes ownership of root. */
static void rule_set(struct policy *p, const char *name, struct node *root)
{
	size_t idx = rule_find(p, name);

	if (idx) {
		node_free(p->rules[idx - 1].root);
		p->rules[idx - 1].root = root;
		return;
	}
	if (p->nrules == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->rules = xrealloc(p->rules, p->cap * sizeof(*p->rules));
	}
	p->rules[p->nrules].name = xstrdup(name);
	p->rules[p->nrules].root = root;
	p->nrules++;
	if (2 * p->nrules + 2 > p->nslots)
		rehash(p);
	else
		for (size_t i = name_hash(name) & (p->nslots - 1);; i = (i + 1) & (p->nslots - 1))
			if (!p->slots[i]) {
				p->slots[i] = (uint32_t)p->nrules;
				break;
			}
}

/* Resolves every rule:NAME in the tree to an index (0 when undefined). */
static void node_link(const struct policy *p, struct node *n)
{
	if (n->kind == N_RULE)
		n->rule = rule_find(p, n->name);
	for (size_t i = 0; i < n->nkids; i++)
		node_link(p, n->kids[i]);
}

static void policy_link(struct policy *p)
{
	for (size_t r = 0; r < p->nrules; r++)
		node_link(p, p->rules[r].root);
}

/* ---- evaluation ---- */

struct eval {
	const struct policy *p;
	const struct policy_creds *c;
	const json_t *target;
	unsigned depth, rule_depth;
	unsigned long steps;
	bool aborted;              /* a guard tripped: the whole check is denied */
};

/* A target value as Python's "%s" prints it, or false when it has no flat form. */
static bool value_text(const json_t *v, char buf[48], const char **s, size_t *len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*len = json_string_length(v);
		return true;
	case JSON_TRUE:
		*s = "True";
		break;
	case JSON_FALSE:
		*s = "False";
		break;
	case JSON_NULL:
		*s = "None";
		break;
	case JSON_INTEGER:
		snprintf(buf, 48, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*s = buf;
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, 48, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		if (!strpbrk(buf, ".eEni"))
			strncat(buf, ".0", 47 - strlen(buf));
		*s = buf;
		break;
	}
	default:
		return false;
	}
	*len = strlen(*s);
	return true;
}

static bool chars_eq(const char *a, const char *b, size_t n, bool icase)
{
	if (!icase)
		return !memcmp(a, b, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* True when the match template, substituted from target, equals s. A missing key is false. */
static bool tmpl_eq(const struct tmpl *t, const json_t *target, const char *s, bool icase)
{
	size_t slen = strlen(s), pos = 0;
	bool ok = true;

	for (size_t i = 0; i < t->nsegs; i++) {
		const struct seg *g = &t->segs[i];
		const char *piece = g->text;
		size_t n = g->len;
		char buf[48];

		if (g->key) {
			const json_t *v = target ? json_object_get(target, g->text) : NULL;
			if (!v || !value_text(v, buf, &piece, &n))
				return false;      /* KeyError: no match, whatever else */
		}
		if (!ok)
			continue;
		if (n > slen - pos || !chars_eq(piece, s + pos, n, icase))
			ok = false;
		else
			pos += n;
	}
	return ok && pos == slen;
}

/* The credential a generic check names, as Python's str() of Keystone's creds dict shows it:
 * plain attributes are always present ("None" when unset); token.* ones only when the token
 * has that part. Returns false when absent. */
static bool creds_value(enum attr a, const struct policy_creds *c, const char **v)
{
	const char *s = NULL;

	switch (a) {
	case A_USER_ID:           *v = c->user_id ? c->user_id : "None"; return true;
	case A_USER_DOMAIN_ID:    *v = c->user_domain_id ? c->user_domain_id : "None"; return true;
	case A_PROJECT_ID:        *v = c->project_id ? c->project_id : "None"; return true;
	case A_PROJECT_DOMAIN_ID: *v = c->project_domain_id ? c->project_domain_id : "None"; return true;
	case A_DOMAIN_ID:         *v = c->domain_id ? c->domain_id : "None"; return true;
	case A_SYSTEM_SCOPE:      *v = c->system_scope ? c->system_scope : "None"; return true;
	case A_IS_ADMIN:          *v = c->is_admin ? "True" : "False"; return true;
	case A_TOKEN_USER_ID:     s = c->user_id; break;
	case A_TOKEN_USER_DOMAIN_ID: s = c->user_domain_id; break;
	case A_TOKEN_PROJECT_ID:  s = c->project_id; break;
	case A_TOKEN_PROJECT_DOMAIN_ID: s = c->project_id ? c->project_domain_id : NULL; break;
	case A_TOKEN_DOMAIN_ID:   s = c->domain_id; break;
	case A_TOKEN_SYSTEM_ALL:
		s = (c->system_scope && !strcmp(c->system_scope, "all")) ? "True" : NULL;
		break;
	default:
		return false;
	}
	*v = s;
	return s != NULL;
}

static bool eval_node(struct eval *e, const struct node *n);

static bool eval_rule(struct eval *e, const struct node *n)
{
	if (!n->rule)
		return false;              /* undefined rule: fail closed */
	if (e->rule_depth >= POLICY_MAX_RULE_DEPTH) {
		e->aborted = true;         /* a cycle or an absurd chain */
		return false;
	}
	e->rule_depth++;
	bool r = eval_node(e, e->p->rules[n->rule - 1].root);
	e->rule_depth--;
	return r;
}

static bool eval_generic(const struct eval *e, const struct node *n)
{
	const struct policy_creds *c = e->c;
	const char *v;

	switch (n->attr) {
	case A_LITERAL:
		return tmpl_eq(&n->match, e->target, n->literal, false);
	case A_ROLES:
	case A_TOKEN_ROLES_NAME:
		for (int i = 0; i < c->nroles; i++)
			if (c->roles[i] && tmpl_eq(&n->match, e->target, c->roles[i], false))
				return true;
		return false;
	case A_IS_ADMIN:
		/* str(True) is "True", but Keystone's admin_required says is_admin:1: accept both
		 * spellings (is_admin is only ever set internally, never from a token). */
		return tmpl_eq(&n->match, e->target, c->is_admin ? "True" : "False", false) ||
		       tmpl_eq(&n->match, e->target, c->is_admin ? "1" : "0", false);
	default:
		return creds_value(n->attr, c, &v) && tmpl_eq(&n->match, e->target, v, false);
	}
}

static bool eval_node(struct eval *e, const struct node *n)
{
	bool r = false;

	if (e->aborted)
		return false;
	if (++e->steps > POLICY_MAX_STEPS || e->depth >= POLICY_MAX_EVAL_DEPTH) {
		e->aborted = true;
		return false;
	}
	e->depth++;
	switch (n->kind) {
	case N_TRUE:
		r = true;
		break;
	case N_FALSE:
		r = false;
		break;
	case N_NOT:
		r = !eval_node(e, n->kids[0]);
		break;
	case N_AND:
		r = true;
		for (size_t i = 0; r && i < n->nkids; i++)
			r = eval_node(e, n->kids[i]);
		break;
	case N_OR:
		for (size_t i = 0; !r && i < n->nkids; i++)
			r = eval_node(e, n->kids[i]);
		break;
	case N_RULE:
		r = eval_rule(e, n);
		break;
	case N_ROLE:
		for (int i = 0; !r && i < e->c->nroles; i++)
			r = e->c->roles[i] && tmpl_eq(&n->match, e->target, e->c->roles[i], true);
		break;
	case N_GENERIC:
		r = eval_generic(e, n);
		break;
	}
	e->depth--;
	return r && !e->aborted;
}

static bool eval_root(const struct policy *p, const struct node *root,
		      const struct policy_creds *creds, const json_t *target)
{
	static const struct policy_creds nobody;
	struct eval e = {
		.p = p, .c = creds ? creds : &nobody,
		.target = (target && json_is_object(target)) ? target : NULL,
	};
	bool r = eval_node(&e, root);

	return r && !e.aborted;
}

/* ---- loading: a list of (name, expression) pairs from YAML or JSON ---- */

struct entry {
	char *name;
	char *expr;
	unsigned long line;        /* 0 when unknown */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_push(struct entries *es, const char *name, size_t nlen, const char *expr,
			 size_t elen, unsigned long line)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? 2 * es->cap : 64;
		es->v = xrealloc(es->v, es->cap * sizeof(*es->v));
	}
	struct entry *e = &es->v[es->n++];
	e->name = dup_n(name, nlen);
	e->expr = dup_n(expr, elen);
	e->line = line;
}

static void entries_clear(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->v[i].name);
		free(es->v[i].expr);
	}
	free(es->v);
	es->v = NULL;
	es->n = es->cap = 0;
}

/* A plain YAML scalar that yaml.safe_load reads as None; oslo.policy treats None as "". */
static bool yaml_is_null(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* Reads a YAML document that is a flat mapping of string to string (or empty). */
static int yaml_read(const char *buf, size_t len, const char *src, struct entries *es,
		     char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int state = 0;             /* 0 stream, 1 document, 2 mapping: key, 3 mapping: value, 4 done */
	int rc = -1;
	char *key = NULL;
	size_t keylen = 0;
	unsigned long keyline = 0;

	if (!yaml_parser_initialize(&parser)) {
		set_err(err, errlen, "%s: cannot initialise the YAML parser", src);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			set_err(err, errlen, "%s:%lu: YAML error: %s", src,
				(unsigned long)parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "syntax error");
			goto out;
		}
		unsigned long line = (unsigned long)ev.start_mark.line + 1;
		bool stop = false, bad = false;

		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_NO_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			stop = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (state == 4) {
				set_err(err, errlen, "%s:%lu: more than one YAML document", src, line);
				bad = true;
			} else {
				state = 1;
			}
			break;
		case YAML_DOCUMENT_END_EVENT:
			state = 4;
			break;
		case YAML_MAPPING_START_EVENT:
			if (state != 1) {
				set_err(err, errlen, "%s:%lu: a rule's value must be a string", src, line);
				bad = true;
			} else {
				state = 2;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			state = 4;
			break;
		case YAML_SCALAR_EVENT:
			if (state == 1) {
				/* A document that is a bare scalar: only an empty one is acceptable. */
				if (!yaml_is_null(&ev)) {
					set_err(err, errlen, "%s:%lu: expected a mapping of rule names to rules",
						src, line);
					bad = true;
				}
				state = 4;
			} else if (state == 2) {
				keylen = ev.data.scalar.length;
				if (keylen == 0 || keylen > POLICY_MAX_NAME) {
					set_err(err, errlen, "%s:%lu: bad rule name", src, line);
					bad = true;
					break;
				}
				free(key);
				key = dup_n((const char *)ev.data.scalar.value, keylen);
				keyline = line;
				state = 3;
			} else if (state == 3) {
				if (yaml_is_null(&ev))
					entries_push(es, key, keylen, "", 0, keyline);
				else
					entries_push(es, key, keylen, (const char *)ev.data.scalar.value,
						     ev.data.scalar.length, keyline);
				state = 2;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			set_err(err, errlen, "%s:%lu: %s", src, line, state == 3 ?
				"a rule's value must be a string (the list syntax is not supported)" :
				"expected a mapping of rule names to rules");
			bad = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
			break;
		case YAML_ALIAS_EVENT:
			set_err(err, errlen, "%s:%lu: YAML aliases are not supported", src, line);
			bad = true;
			break;
		}
		yaml_event_delete(&ev);
		if (bad)
			goto out;
		if (stop)
			break;
	}
	rc = 0;
out:
	free(key);
	yaml_parser_delete(&parser);
	return rc;
}

static int json_read(const char *buf, size_t len, const char *src, struct entries *es,
		     char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr);
	const char *name;
	json_t *v;

	if (!root) {
		set_err(err, errlen, "%s:%d: JSON error: %s", src, jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "%s: expected an object of rule names to rules", src);
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, name, v) {
		size_t nlen = strlen(name);
		if (!nlen || nlen > POLICY_MAX_NAME) {
			set_err(err, errlen, "%s: bad rule name", src);
			json_decref(root);
			return -1;
		}
		if (json_is_null(v)) {
			entries_push(es, name, nlen, "", 0, 0);
		} else if (json_is_string(v)) {
			entries_push(es, name, nlen, json_string_value(v), json_string_length(v), 0);
		} else {
			set_err(err, errlen, "%s: rule \"%s\": value must be a string%s", src, name,
				json_is_array(v) ? " (the list syntax is not supported)" : "");
			json_decref(root);
			return -1;
		}
	}
	json_decref(root);
	return 0;
}

/* Parses every entry, then installs them all; on any error nothing changes. */
static int policy_apply(struct policy *p, const struct entries *es, const char *src,
			char *err, size_t errlen)
{
	struct node **roots = xcalloc(es->n ? es->n : 1, sizeof(*roots));
	char msg[512];

	for (size_t i = 0; i < es->n; i++) {
		const struct entry *e = &es->v[i];

		msg[0] = '\0';
		roots[i] = parse_expr(e->expr, msg, sizeof(msg));
		if (!roots[i]) {
			if (e->line)
				set_err(err, errlen, "%s:%lu: rule \"%s\": %s", src, e->line, e->name, msg);
			else
				set_err(err, errlen, "%s: rule \"%s\": %s", src, e->name, msg);
			for (size_t j = 0; j < i; j++)
				node_free(roots[j]);
			free(roots);
			return -1;
		}
	}
	for (size_t i = 0; i < es->n; i++)
		rule_set(p, es->v[i].name, roots[i]);
	free(roots);
	policy_link(p);
	return 0;
}

/* ---- public API ---- */

struct policy *policy_new(const char *defaults, char *err, size_t errlen)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	struct entries es = { 0 };

	rehash(p);
	if (defaults && (yaml_read(defaults, strlen(defaults), "defaults", &es, err, errlen) < 0 ||
			 policy_apply(p, &es, "defaults", err, errlen) < 0)) {
		entries_clear(&es);
		policy_free(p);
		return NULL;
	}
	entries_clear(&es);
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].name);
		node_free(p->rules[i].root);
	}
	free(p->rules);
	free(p->slots);
	free(p);
}

/* Reads a whole regular file of at most POLICY_MAX_FILE bytes; 1 when it does not exist. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uintmax_t)st.st_size > POLICY_MAX_FILE) {
		set_err(err, errlen, "%s: larger than %zu bytes", path, POLICY_MAX_FILE);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen)
{
	struct entries es = { 0 };
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!path || !*path)
		return 0;                  /* no policy file configured */
	rc = read_file(path, &buf, &len, err, errlen);
	if (rc != 0)
		return rc > 0 ? 0 : -1;

	size_t plen = strlen(path);
	bool json_ext = plen >= 5 && !strcasecmp(path + plen - 5, ".json");
	const char *q = buf;
	while (*q && is_space(*q))
		q++;
	if (json_ext || *q == '{') {
		rc = json_read(buf, len, path, &es, err, errlen);
		/* A YAML flow mapping also starts with '{': fall back unless it claims to be JSON. */
		if (rc < 0 && !json_ext) {
			entries_clear(&es);
			rc = yaml_read(buf, len, path, &es, err, errlen);
		}
	} else {
		rc = yaml_read(buf, len, path, &es, err, errlen);
	}
	if (rc == 0)
		rc = policy_apply(p, &es, path, err, errlen);
	entries_clear(&es);
	free(buf);
	return rc;
}

bool policy_has_rule(const struct policy *p, const char *name)
{
	return name && rule_find(p, name) != 0;
}

bool policy_check(const struct policy *p, const char *name, const struct policy_creds *creds,
		  const json_t *target)
{
	size_t idx = name ? rule_find(p, name) : 0;

	if (!idx)
		return false;
	return eval_root(p, p->rules[idx - 1].root, creds, target);
}

int policy_check_expr(const struct policy *p, const char *expr, const struct policy_creds *creds,
		      const json_t *target)
{
	struct node *root = parse_expr(expr ? expr : "", NULL, 0);

	if (!root)
		return -1;
	if (p)
		node_link(p, root);
	int r = eval_root(p, root, creds, target) ? 1 : 0;
	node_free(root);
	return r;
}
