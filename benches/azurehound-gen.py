#!/usr/bin/env python3
"""Writes a synthetic AzureHound collection of about SIZE_MB megabytes to stdout, for the
`import azurehound` benchmark (docs/azurehound.md). Deterministic.

  benches/azurehound-gen.py SIZE_MB [realistic|devices] > /tmp/ah.json

realistic: a tenant that grows with the file: users, groups with members, service principals,
           VMs with identities and role assignments (every record is mapped and kept).
devices:   AZDevice records of the same size (every record is read and parsed, then skipped), so
           memory shows the reading stage's own overhead, not the facts it keeps.
"""
import json, sys

size = int(sys.argv[1]) * 1_000_000
mix = sys.argv[2] if len(sys.argv) > 2 else "realistic"
T = "7E000000-0000-4000-8000-000000000001"
SUB = "/SUBSCRIPTIONS/5E000000-0000-4000-8000-000000000001/RESOURCEGROUPS/RG-%d"
out = sys.stdout
out.write('{"data": [\n')
out.write(json.dumps({"kind": "AZTenant", "data": {"tenantId": T, "displayName": "BENCH", "collected": True}}))
written, i = 0, 0


def gid(prefix, n):
    return "%s%07X-0000-4000-8000-%012X" % (prefix, n % 0xFFFFFFF, n)


while written < size:
    i += 1
    if mix == "devices":
        recs = [{"kind": "AZDevice", "data": {"id": gid("D", i), "displayName": "LAPTOP-%d" % i, "operatingSystem": "Windows",
                 "trustType": "AzureAd", "tenantId": T, "extensionAttributes": {"a%d" % k: "v" * 20 for k in range(8)}}}]
    else:
        user, group, sp = gid("A", i), gid("B", i // 10), gid("C", i)
        vm = SUB % (i // 100) + "/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-%d" % i
        recs = [
            {"kind": "AZUser", "data": {"id": user, "displayName": "USER %d" % i, "userPrincipalName": "u%d@bench.example" % i,
                                        "accountEnabled": True, "userType": "Member", "tenantId": T, "tenantName": "BENCH"}},
            {"kind": "AZServicePrincipal", "data": {"id": sp, "appId": gid("E", i), "displayName": "SP %d" % i,
                                                    "servicePrincipalType": "Application", "tenantId": T}},
            {"kind": "AZVM", "data": {"id": vm, "name": "vm-%d" % i, "type": "Microsoft.Compute/virtualMachines",
                                      "identity": {"type": "SystemAssigned", "principalId": sp}, "properties": {"vmId": gid("F", i)},
                                      "tenantId": T}},
            {"kind": "AZVMRoleAssignment", "data": {"virtualMachineId": vm, "roleAssignments": [{"virtualMachineId": vm, "roleAssignment": {
                "id": vm + "/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/" + gid("9", i), "name": gid("9", i),
                "properties": {"principalId": user, "scope": vm,
                               "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/9980e02c-c2be-4d73-94e8-173b1dc7cf3c"}}}]}},
        ]
        if i % 10 == 0:
            recs.append({"kind": "AZGroup", "data": {"id": group, "displayName": "GROUP %d" % i, "securityEnabled": True, "tenantId": T}})
            recs.append({"kind": "AZGroupMember", "data": {"groupId": group, "members": [
                {"groupId": group, "member": {"@odata.type": "#microsoft.graph.user", "id": gid("A", i - k)}} for k in range(10)]}})
    for r in recs:
        s = ",\n" + json.dumps(r)
        out.write(s)
        written += len(s)
out.write('\n],\n"meta": {"type": "azure", "version": 5, "methods": 0}}\n')
