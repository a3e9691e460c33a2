#!/usr/bin/python3
# scripts/gen_policy_defaults.py — regenerates src/identity/policy_defaults.c from the default
# rules the installed Keystone (python3-keystone, Zed) registers, combining each new rule with its
# deprecated one as enforce_new_defaults=False does. It prints the rule table that the file wraps:
# /usr/bin/python3 scripts/gen_policy_defaults.py, then replace the table in that file.
import re
import importlib, keystone.common.policies as P
mods = ['base','access_rule','access_token','application_credential','auth','consumer','credential',
 'domain','domain_config','ec2_credential','endpoint','endpoint_group','grant','group','identity_provider',
 'implied_role','limit','mapping','policy','policy_association','project','project_endpoint','protocol',
 'region','registered_limit','revoke_event','role','role_assignment','s3tokens','ec2tokens','service',
 'service_provider','token_revocation','token','trust','user']
out = []
def wrap(line, width=92):
    # Split a long rule over adjacent C literals at ' or ' / ' and ' boundaries.
    parts = re.split(r'(?<= or )|(?<= and )', line)
    chunks, cur = [], ''
    for p in parts:
        if cur and len(cur) + len(p) > width:
            chunks.append(cur); cur = p
        else:
            cur += p
    chunks.append(cur)
    res = []
    for i, c in enumerate(chunks):
        nl = '\\n' if i == len(chunks) - 1 else ''
        res.append(('\t"%s%s"' if i == 0 else '\t\t"%s%s"') % (c, nl))
    return res
n = 0
seen = set()
for m in mods:
    mod = importlib.import_module('keystone.common.policies.' + m)
    rules = list(mod.list_rules())
    if not rules: continue
    out.append('\t"# %s\\n"' % m)
    for r in rules:
        cs = r.check_str
        d = r.deprecated_rule
        if d and d.check_str != cs:
            new = cs if cs else '@'
            old = d.check_str if d.check_str else '@'
            expr = '(%s) or (%s)' % (new, old)
        else:
            expr = cs
        assert '"' not in expr and '\\' not in expr and '"' not in r.name
        assert r.name not in seen
        seen.add(r.name)
        assert "'" not in expr
        line = "'%s': '%s'" % (r.name, expr)
        out.extend(wrap(line))
        n += 1
assert n == len(list(P.list_rules())), n
print('\n'.join(out))
