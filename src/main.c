/* main.c — the monostack command: `up` (all-in-one cloud), `compute` (a compute host working for
 * a controller elsewhere), `db sync`, `fernet-rotate`,
 * `config-sample`, `version`. Parses options, loads configuration and hands over to the
 * services; every service is reached through its public header. */
#include "core/arena.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/http.h"
#include "core/log.h"
#include "core/util.h"
#include "identity/identity.h"
#include "image/image.h"
#include "placement/placement.h"
#include "compute/compute.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MONOSTACK_VERSION "0.1.0"

static const struct conf_opt core_opts[] = {
	{ "DEFAULT", "data_dir", CONF_STR, ".monostack", "directory holding the database, keys and generated files" },
	{ "DEFAULT", "bind", CONF_STR, "127.0.0.1:8770", "address and port of the API listener (HOST:PORT)" },
	{ "DEFAULT", "public_url", CONF_STR, "",
	  "base URL published in the catalog (empty: http://HOST:PORT of bind, 127.0.0.1 for a wildcard host)" },
	{ "DEFAULT", "threads", CONF_INT, "16", "HTTP worker threads" },
	{ "DEFAULT", "log_level", CONF_STR, "info", "debug, info, warning or error" },
	{ "DEFAULT", "log_file", CONF_STR, "", "append logs to this file instead of standard error" },
	{ "database", "connection", CONF_STR, "sqlite:///$data_dir/monostack.db",
	  "sqlite:///ABSOLUTE/PATH, sqlite://RELATIVE/PATH or postgresql://USER:PASS@HOST:PORT/DB" },
	{ "database", "pool_size", CONF_INT, "20", "database connections kept open (at least threads + 4)" },
	{ "tls", "cert_file", CONF_STR, "", "PEM certificate: serve HTTPS when set" },
	{ "tls", "key_file", CONF_STR, "", "PEM private key of cert_file" },
	{ "bootstrap", "admin_password", CONF_STR, "",
	  "password of the admin user created on first start (empty: generate one)" },
	{ "bootstrap", "region", CONF_STR, "RegionOne", "region of the catalog endpoints" },
	{ NULL, NULL, 0, NULL, NULL },
};

struct options {
	const char *data_dir, *config, *bind, *admin_password;
	const char *controller;       /* compute: the controller's base URL */
	bool no_user_config;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: monostack COMMAND [options]\n"
		"commands:\n"
		"  up              run an all-in-one cloud (every API on one listener)\n"
		"  db sync         create or upgrade the database schema\n"
		"  fernet-rotate   rotate the token encryption keys\n"
		"  config-sample   print a commented sample configuration\n"
		"  compute         run a compute host for the cloud at --controller URL (needs [agent]\n"
		"                  username/password of a user with the admin or service role)\n"
		"  version         print the version\n"
		"options:\n"
		"  --data-dir DIR        data directory (default ./.monostack)\n"
		"  --config FILE         configuration file (default DATA_DIR/monostack.conf if present)\n"
		"  --bind HOST:PORT      listener address (default 127.0.0.1:8770)\n"
		"  --admin-password PW   admin password for a new cloud (default: generated)\n"
		"  --no-user-config      do not write ~/.config/openstack/clouds.yaml\n"
		"  --controller URL      compute: the cloud's base URL (e.g. http://10.0.0.1:8770)\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "bind", required_argument, NULL, 'b' },
		{ "admin-password", required_argument, NULL, 'p' },
		{ "no-user-config", no_argument, NULL, 'n' },
		{ "controller", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->data_dir = optarg; break;
		case 'c': o->config = optarg; break;
		case 'b': o->bind = optarg; break;
		case 'p': o->admin_password = optarg; break;
		case 'n': o->no_user_config = true; break;
		case 'C': o->controller = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	return 0;
}

/* Loads configuration: options first decide where the data dir and file are. */
static int configure(const struct options *o)
{
	char err[512];
	if (o->data_dir)
		conf_set("DEFAULT", "data_dir", o->data_dir);
	const char *path = o->config;
	char def[4096];
	if (!path) {
		snprintf(def, sizeof def, "%s/monostack.conf", conf_str("DEFAULT", "data_dir"));
		if (access(def, R_OK) == 0)
			path = def;
	}
	if (path && conf_load(path, err, sizeof err)) {
		fprintf(stderr, "monostack: %s\n", err);
		return -1;
	}
	if (o->data_dir)           /* the command line wins over the file */
		conf_set("DEFAULT", "data_dir", o->data_dir);
	/* Everything derived from the data dir (database URL, key directories, clouds.yaml paths)
	 * must not depend on the working directory: make it absolute. */
	const char *dd = conf_str("DEFAULT", "data_dir");
	if (dd[0] != '/') {
		char cwd[4096], abs[8192];
		if (!getcwd(cwd, sizeof cwd)) {
			fprintf(stderr, "monostack: cannot resolve the data directory: %s\n", strerror(errno));
			return -1;
		}
		snprintf(abs, sizeof abs, "%s/%s", cwd, dd);
		conf_set("DEFAULT", "data_dir", abs);
	}
	if (o->bind && conf_set("DEFAULT", "bind", o->bind)) {
		fprintf(stderr, "monostack: bad --bind\n");
		return -1;
	}
	int lvl = log_level_parse(conf_str("DEFAULT", "log_level"));
	if (lvl < 0) {
		fprintf(stderr, "monostack: bad log_level\n");
		return -1;
	}
	log_set_level((enum log_level)lvl);
	if (*conf_str("DEFAULT", "log_file") && log_open(conf_str("DEFAULT", "log_file"))) {
		fprintf(stderr, "monostack: cannot open log file: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int make_data_dir(void)
{
	const char *dd = conf_str("DEFAULT", "data_dir");
	if (mkdir(dd, 0700) && errno != EEXIST) {
		fprintf(stderr, "monostack: cannot create data directory %s: %s\n", dd, strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens the database and applies every service's migrations. */
static struct db *open_db(void)
{
	char err[512];
	struct db *db;
	/* A request may hold one connection while token validation takes another: keep more
	 * connections than worker threads so that can never starve. */
	int64_t pool = conf_int("database", "pool_size"), threads = conf_int("DEFAULT", "threads");
	if (pool < threads + 4)
		pool = threads + 4;
	if (db_open(conf_str("database", "connection"), (unsigned)pool, &db, err, sizeof err)) {
		fprintf(stderr, "monostack: %s\n", err);
		return NULL;
	}
	if (identity_migrate(db, err, sizeof err) || image_migrate(db, err, sizeof err) ||
	    placement_migrate(db, err, sizeof err) ||
	    compute_migrate(db, err, sizeof err)) {
		fprintf(stderr, "monostack: %s\n", err);
		db_close(db);
		return NULL;
	}
	return db;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) || close(fd) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char buf[256];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	return n ? xstrdup(buf) : NULL;
}

#define CLOUDS_MARK "# written by monostack"
/* The compute microversion the client files ask for: from 2.37 `server create --nic none` and
 * `--nic auto` work, and the CLI's default of 2.1 lacks most of what Nova added since. */
#define CLIENT_COMPUTE_VERSION "2.79"

/* Writes DATA_DIR/clouds.yaml and openrc (and the user's clouds.yaml when it is ours to write);
 * what the user should know about the latter goes into note. */
static void write_client_files(const char *auth_url, const char *password, const char *region,
			       bool user_config, char *note, size_t notelen)
{
	note[0] = 0;
	const char *dd = conf_str("DEFAULT", "data_dir");
	char path[4096], text[8192];
	snprintf(text, sizeof text,
		 CLOUDS_MARK " (regenerated on every start)\n"
		 "clouds:\n"
		 "  monostack:\n"
		 "    auth:\n"
		 "      auth_url: %s\n"
		 "      username: admin\n"
		 "      password: \"%s\"\n"
		 "      project_name: admin\n"
		 "      user_domain_name: Default\n"
		 "      project_domain_name: Default\n"
		 "    region_name: %s\n"
		 "    interface: public\n"
		 "    identity_api_version: 3\n"
		 "    compute_api_version: \"" CLIENT_COMPUTE_VERSION "\"\n"
		 "  monostack-system:\n"
		 "    auth:\n"
		 "      auth_url: %s\n"
		 "      username: admin\n"
		 "      password: \"%s\"\n"
		 "      user_domain_name: Default\n"
		 "      system_scope: all\n"
		 "    region_name: %s\n"
		 "    interface: public\n"
		 "    identity_api_version: 3\n"
		 "    compute_api_version: \"" CLIENT_COMPUTE_VERSION "\"\n",
		 auth_url, password, region, auth_url, password, region);
	snprintf(path, sizeof path, "%s/clouds.yaml", dd);
	if (write_file(path, text, 0600))
		log_warn("cannot write %s: %s", path, strerror(errno));
	if (user_config) {
		const char *home = getenv("HOME");
		char dir[4096], upath[4096];
		snprintf(dir, sizeof dir, "%s/.config", home ? home : "/root");
		mkdir(dir, 0700);
		snprintf(dir, sizeof dir, "%s/.config/openstack", home ? home : "/root");
		mkdir(dir, 0700);
		snprintf(upath, sizeof upath, "%s/clouds.yaml", dir);
		char *existing = read_small_file(upath);
		if (!existing || !strncmp(existing, CLOUDS_MARK, strlen(CLOUDS_MARK))) {
			if (write_file(upath, text, 0600) == 0)
				snprintf(note, notelen, "  clouds.yaml written to %s\n", upath);
		} else {
			snprintf(note, notelen, "  %s exists and is not ours: use export "
				 "OS_CLIENT_CONFIG_FILE=%s\n", upath, path);
		}
		free(existing);
	}
	snprintf(text, sizeof text,
		 "# monostack admin credentials: source this file\n"
		 "export OS_AUTH_URL=%s\n"
		 "export OS_IDENTITY_API_VERSION=3\n"
		 "export OS_USERNAME=admin\n"
		 "export OS_PASSWORD='%s'\n"
		 "export OS_PROJECT_NAME=admin\n"
		 "export OS_USER_DOMAIN_NAME=Default\n"
		 "export OS_PROJECT_DOMAIN_NAME=Default\n"
		 "export OS_REGION_NAME=%s\n"
		 "export OS_INTERFACE=public\n"
		 "export OS_COMPUTE_API_VERSION=" CLIENT_COMPUTE_VERSION "\n",
		 auth_url, password, region);
	snprintf(path, sizeof path, "%s/openrc", dd);
	if (write_file(path, text, 0600))
		log_warn("cannot write %s: %s", path, strerror(errno));
}

static int cmd_up(const struct options *o)
{
	int64_t t0 = time_now_us();
	if (make_data_dir())
		return 1;
	/* Block the stop signals in every thread; the main thread waits for them below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct db *db = open_db();
	if (!db)
		return 1;
	char err[512];
	struct identity *id = identity_new(db, err, sizeof err);
	if (!id) {
		fprintf(stderr, "monostack: %s\n", err);
		db_close(db);
		return 1;
	}
	struct image_svc *img = image_new(db, err, sizeof err);
	if (!img) {
		fprintf(stderr, "monostack: %s\n", err);
		identity_free(id);
		db_close(db);
		return 1;
	}
	struct placement *plc = placement_new(db, err, sizeof err);
	if (!plc) {
		fprintf(stderr, "monostack: %s\n", err);
		image_free(img);
		identity_free(id);
		db_close(db);
		return 1;
	}
	struct compute_svc *cmp = compute_new(db, img, plc, err, sizeof err);
	if (!cmp) {
		fprintf(stderr, "monostack: %s\n", err);
		placement_free(plc);
		image_free(img);
		identity_free(id);
		db_close(db);
		return 1;
	}
	/* Listen first (the port may be chosen by the kernel), bootstrap with the real URLs, then
	 * serve: early clients wait in the backlog instead of seeing a half-made cloud. */
	struct http_service *services[] = { identity_service(id), image_service(img), compute_service(cmp),
					     placement_service(plc) };
	struct http_config hc = {
		.bind = conf_str("DEFAULT", "bind"),
		.listen_fd = -1,
		.threads = (unsigned)conf_int("DEFAULT", "threads"),
		.tls_cert_file = conf_str("tls", "cert_file"),
		.tls_key_file = conf_str("tls", "key_file"),
	};
	unsigned port;
	hc.listen_fd = http_listen(hc.bind, &port, err, sizeof err);
	if (hc.listen_fd < 0) {
		fprintf(stderr, "monostack: %s\n", err);
		compute_free(cmp);
		placement_free(plc);
		image_free(img);
		identity_free(id);
		db_close(db);
		return 1;
	}
	char base[512];
	const char *pub = conf_str("DEFAULT", "public_url");
	if (*pub) {
		snprintf(base, sizeof base, "%s", pub);
	} else {
		char host[256];
		const char *bind = hc.bind, *colon = strrchr(bind, ':');
		snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - bind) : 0, bind);
		if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "*"))
			snprintf(host, sizeof host, "127.0.0.1");
		snprintf(base, sizeof base, "%s://%s:%u", *hc.tls_cert_file ? "https" : "http", host, port);
	}
	size_t bl = strlen(base);
	if (bl && base[bl - 1] == '/')
		base[bl - 1] = 0;
	char identity_url[600], image_url[600], compute_url[600];
	snprintf(identity_url, sizeof identity_url, "%s/identity", base);
	snprintf(image_url, sizeof image_url, "%s/image", base);
	snprintf(compute_url, sizeof compute_url, "%s/compute/v2.1", base);
	char placement_url[600];
	snprintf(placement_url, sizeof placement_url, "%s/placement", base);
	struct identity_endpoint_spec eps[] = {
		{ "identity", "keystone", identity_url },
		{ "image", "glance", image_url },
		{ "compute", "nova", compute_url },
		{ "placement", "placement", placement_url },
	};
	/* Admin password: option, configuration, the one generated earlier, or a new one. */
	char pwfile[4096];
	snprintf(pwfile, sizeof pwfile, "%s/admin-password", conf_str("DEFAULT", "data_dir"));
	char *saved = read_small_file(pwfile);
	const char *pw = o->admin_password ? o->admin_password
		       : *conf_str("bootstrap", "admin_password") ? conf_str("bootstrap", "admin_password")
		       : saved;
	struct identity_bootstrap bs = {
		.admin_password = pw,
		.region = conf_str("bootstrap", "region"),
		.endpoints = eps,
		.nendpoints = (int)(sizeof eps / sizeof eps[0]),
	};
	char *generated = NULL;
	/* Everything a client needs exists before the first request is served. */
	struct http_server *srv = NULL;
	char note[4300] = "";
	int failed = identity_bootstrap_run(id, &bs, &generated, err, sizeof err);
	const char *final_pw = generated ? generated : pw;
	if (!failed) {
		if (generated || (pw && (!saved || strcmp(saved, pw))))
			if (final_pw && write_file(pwfile, final_pw, 0600))
				log_warn("cannot write %s", pwfile);
		if (image_seed_tiny(img, conf_str("image", "tiny_image_dir"), bs.admin_project_id, err, sizeof err))
			log_warn("the tiny test image was not registered: %s", err);
		char auth_url[700];
		snprintf(auth_url, sizeof auth_url, "%s/v3", identity_url);
		if (final_pw)
			write_client_files(auth_url, final_pw, bs.region, !o->no_user_config, note, sizeof note);
		failed = compute_start(cmp, base, err, sizeof err);
		if (!failed)
			failed = http_server_start(&hc, services, (int)(sizeof services / sizeof services[0]), &srv, err, sizeof err);
	}
	if (failed) {
		fprintf(stderr, "monostack: %s\n", err);
		if (!srv)
			close(hc.listen_fd);
		compute_free(cmp);
		placement_free(plc);
		image_free(img);
		identity_free(id);
		db_close(db);
		free(generated);
		free(saved);
		return 1;
	}
	printf("monostack %s — cloud ready in %.2f s at %s  (data: %s)\n%s", MONOSTACK_VERSION,
	       (double)(time_now_us() - t0) / 1e6, base, conf_str("DEFAULT", "data_dir"), note);
	printf("  admin password: in %s (user admin, project admin, domain Default)\n", pwfile);
	printf("  export OS_CLOUD=monostack    # or: source %s/openrc\n"
	       "  openstack token issue\n"
	       "  openstack project create demo && openstack user create --password secret demo\n"
	       "  openstack image create --disk-format qcow2 --container-format bare --file disk.qcow2 myimage\n"
	       "  openstack server create --image tiny --flavor m1.nano --nic none --wait vm1\n",
	       conf_str("DEFAULT", "data_dir"));
	fflush(stdout);
	log_info("serving on %s", base);
	free(generated);
	free(saved);

	int sig = 0;
	sigwait(&stop, &sig);
	log_info("signal %d: stopping", sig);
	http_server_stop(srv);
	compute_free(cmp);
	placement_free(plc);
	image_free(img);
	identity_free(id);
	db_close(db);
	log_info("stopped");
	return 0;
}

/* `monostack compute --controller URL`: a compute host (driver and agent, no database) working
 * for the cloud at URL; SIGTERM stops the agent and leaves the guests running. */
static int cmd_compute(const struct options *o)
{
	if (!o->controller || !*o->controller) {
		fprintf(stderr, "monostack: compute needs --controller URL (the cloud's base URL)\n");
		return 2;
	}
	if (make_data_dir())
		return 1;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	char err[512];
	struct compute_node *n = compute_node_new(o->controller, err, sizeof err);
	if (!n || compute_node_start(n, err, sizeof err)) {
		fprintf(stderr, "monostack: %s\n", err);
		compute_node_free(n);
		return 1;
	}
	printf("monostack %s — compute host for %s (data: %s; the controller reaches it at %s)\n",
	       MONOSTACK_VERSION, o->controller, conf_str("DEFAULT", "data_dir"), compute_node_url(n));
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	log_info("signal %d: stopping (guests keep running)", sig);
	bool failed = compute_node_failed(n);
	compute_node_free(n);
	log_info("stopped");
	return failed ? 1 : 0;
}

static int cmd_db_sync(void)
{
	if (make_data_dir())
		return 1;
	struct db *db = open_db();
	if (!db)
		return 1;
	printf("identity schema at version %d\n", db_schema_version(db, "identity"));
	printf("image schema at version %d\n", db_schema_version(db, "image"));
	printf("compute schema at version %d\n", db_schema_version(db, "compute"));
	printf("placement schema at version %d\n", db_schema_version(db, "placement"));
	db_close(db);
	return 0;
}

static int cmd_rotate(void)
{
	char err[512];
	if (make_data_dir())
		return 1;
	if (identity_rotate_keys(err, sizeof err)) {
		fprintf(stderr, "monostack: %s\n", err);
		return 1;
	}
	printf("fernet keys rotated in %s\n", conf_str("fernet_tokens", "key_repository"));
	return 0;
}

int main(int argc, char **argv)
{
	conf_register(core_opts);
	conf_register(identity_conf_opts);
	conf_register(image_conf_opts);
	conf_register(compute_conf_opts);
	conf_register(placement_conf_opts);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	int shift = 1;
	if (!strcmp(cmd, "db")) {
		if (argc < 3 || strcmp(argv[2], "sync")) {
			usage(stderr);
			return 2;
		}
		shift = 2;
	}
	struct options o = { 0 };
	if (parse_args(argc - shift, argv + shift, &o)) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("monostack %s\n", MONOSTACK_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "config-sample")) {
		conf_write_sample(stdout);
		return 0;
	}
	if (configure(&o))
		return 1;
	if (!strcmp(cmd, "up"))
		return cmd_up(&o);
	if (!strcmp(cmd, "compute"))
		return cmd_compute(&o);
	if (!strcmp(cmd, "db"))
		return cmd_db_sync();
	if (!strcmp(cmd, "fernet-rotate"))
		return cmd_rotate();
	usage(stderr);
	return 2;
}
