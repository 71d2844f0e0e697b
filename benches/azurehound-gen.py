#!/usr/bin/env python3
"""Writes a synthetic AzureHound collection of about SIZE_MB megabytes to stdout, for the
`import azurehound` benchmark (docs/azurehound.md). Deterministic.

  benches/azurehound-gen.py SIZE_MB [realistic|azurehound|devices] > /tmp/ah.json

realistic: a tenant that grows with the file: users, groups with members, service principals,
           VMs with identities and role assignments (every record is mapped and kept). Records
           carry only the fields azpath reads: the densest file for its tenant.
azurehound: the same kind of tenant, each record with the fields AzureHound v3.1.0 writes for it
           (its Go models serialized by encoding/json: empty nested objects kept as `{}`; the
           users' `$select`; VMs from the ARM list without `$expand`; `azurehound list` splitting
           a VM's role assignments into AZVMOwner, AZVMContributor, AZVMAvereContributor,
           AZVMAdminLogin and AZVMUserAccessAdmin records). About 2.5 times the bytes per object.
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


def azurehound_shaped(i):
    """One user, one managed identity, one VM and its five role-assignment records, and every
    tenth step a group with ten members: the shapes AzureHound writes (see the module's doc)."""
    user, group, sp, app = gid("A", i), gid("B", i // 10), gid("C", i), gid("E", i)
    sub = "5E000000-0000-4000-8000-000000000001"
    rg = SUB % (i // 100)
    vm = rg + "/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM-%d" % i
    vm_arm = "/subscriptions/%s/resourceGroups/rg-%d/providers/Microsoft.Compute" % (sub.lower(), i // 100)
    recs = [
        {"kind": "AZUser", "data": {
            "id": user, "accountEnabled": True, "createdDateTime": "2021-03-15T18:22:41Z", "displayName": "USER %d" % i,
            "employeeOrgData": {}, "jobTitle": "Retail Manager", "lastPasswordChangeDateTime": "2023-06-01T12:00:00Z",
            "mail": "u%d@bench.example" % i,
            "mailboxSettings": {"automaticRepliesSetting": {"scheduledEndDateTime": {}, "scheduledStartDateTime": {}},
                                "language": {}, "workingHours": {"timeZoneBase": {}}},
            "onPremisesExtensionAttributes": {}, "passwordProfile": {}, "signInActivity": {},
            "userPrincipalName": "u%d@bench.example" % i, "userType": "Member", "tenantId": T, "tenantName": "BENCH"}},
        {"kind": "AZServicePrincipal", "data": {
            "id": sp, "accountEnabled": True, "alternativeNames": ["isExplicit=False", vm.lower()], "appId": app,
            "displayName": "VM-%d" % i, "info": {},
            "keyCredentials": [{"customKeyIdentifier": "1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D",
                                "displayName": "CN=" + app.lower(), "endDateTime": "2025-07-30T10:00:00Z",
                                "keyId": gid("7", i).lower(), "startDateTime": "2025-05-01T10:00:00Z",
                                "type": "AsymmetricX509Cert", "usage": "Verify"}],
            "samlSingleSignOnSettings": {}, "servicePrincipalNames": [app.lower(), "https://identity.azure.net/" + gid("8", i)],
            "servicePrincipalType": "ManagedIdentity", "verifiedPublisher": {}, "tenantId": T, "tenantName": "BENCH"}},
        {"kind": "AZVM", "data": {
            "id": vm, "extendedLocation": {}, "identity": {"principalId": sp, "tenantId": T, "type": "SystemAssigned"},
            "location": "westeurope", "name": "vm-%d" % i, "plan": {},
            "properties": {
                "additionalCapabilities": {}, "applicationProfile": {}, "availabilitySet": {}, "billingProfile": {},
                "capacityReservation": {"capacityReservationGroup": {}}, "diagnosticsProfile": {"bootDiagnotics": {}},
                "hardwareProfile": {"vmSize": "Standard_E8s_v5", "vmSizeProperties": {}}, "host": {}, "hostGroup": {},
                "instanceView": {"bootDiagnotics": {"status": {}}, "maintenanceRedeployStatus": {},
                                 "patchStatus": {"availablePatchSummary": {"error": {"code": "", "message": ""}},
                                                 "lastPatchInstallationSummary": {"error": {"code": "", "message": ""}}},
                                 "vmAgent": {}, "vmHealth": {"status": {}}},
                "licenseType": "Windows_Server",
                "networkProfile": {"networkInterfaces": [{"id": vm_arm.replace("Compute", "Network") + "/networkInterfaces/vm-%d-nic" % i,
                                                          "properties": {}}]},
                "osProfile": {"adminUsername": "vmadmin", "allowExtensionOperations": True, "computerName": "vm-%d" % i,
                              "linuxConfiguration": {"patchSettings": {}, "ssh": {}}, "requireGuestProvisionSignal": True,
                              "windowsConfiguration": {"enableAutomaticUpdates": True,
                                                       "patchSettings": {"assessmentMode": "ImageDefault", "patchMode": "AutomaticByOS"},
                                                       "provisionVMAgent": True, "winRM": {}}},
                "provisioningState": "Succeeded", "proximityPlacementGroup": {},
                "scheduledEventsProfile": {"terminateNotificationProfile": {}}, "securityProfile": {"uefiSettings": {}},
                "storageProfile": {
                    "imageReference": {"exactVersion": "20348.2227.240104", "offer": "WindowsServer",
                                       "publisher": "MicrosoftWindowsServer", "sku": "2022-datacenter-azure-edition", "version": "latest"},
                    "osDisk": {"caching": "ReadWrite", "createOption": "FromImage", "deleteOption": "Delete", "diffDiskSettings": {},
                               "diskSizeGB": 127, "encryptionSettings": {"diskEncryptionKey": {"sourceVault": {}},
                                                                         "keyEncryptionKey": {"sourceVault": {}}},
                               "image": {}, "managedDisk": {"diskEncryptionSet": {}, "id": vm_arm + "/disks/vm-%d_OsDisk_1" % i,
                                                           "storageAccountType": "Premium_LRS"},
                               "name": "vm-%d_OsDisk_1" % i, "osType": "Windows", "vhd": {}}},
                "virtualMachineScaleSet": {}, "vmId": gid("F", i).lower()},
            "tags": {"costCenter": "CC-1234", "env": "prod", "owner": "platform-team"},
            "type": "Microsoft.Compute/virtualMachines", "subscriptionId": "/SUBSCRIPTIONS/" + sub,
            "resourceGroupId": rg, "tenantId": T}},
    ]
    assignment = gid("9", i)
    contributor = {"owner": {
        "id": vm_arm + "/virtualMachines/vm-%d/providers/Microsoft.Authorization/roleAssignments/%s" % (i, assignment.lower()),
        "name": assignment.lower(), "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"principalId": user, "scope": vm,
                       "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/"
                                           "b24988ac-6180-42a0-ab88-20f7382dd24c" % sub.lower()}},
        "virtualMachineId": vm}
    for kind, key in [("AZVMOwner", "owners"), ("AZVMContributor", "contributors"), ("AZVMAvereContributor", "avereContributors"),
                      ("AZVMAdminLogin", "adminLogins"), ("AZVMUserAccessAdmin", "userAccessAdmins")]:
        entries = [{k if k != "owner" else key[:-1]: v for k, v in contributor.items()}] if kind == "AZVMContributor" else None
        recs.append({"kind": kind, "data": {key: entries, "virtualMachineId": vm}})
    if i % 10 == 0:
        recs.append({"kind": "AZGroup", "data": {
            "id": group, "createdDateTime": "2022-08-15T17:24:07Z", "description": "Members of group %d" % i,
            "displayName": "GROUP %d" % i, "mailNickname": "group-%d" % i, "renewedDateTime": "2022-08-15T17:24:07Z",
            "securityEnabled": True, "securityIdentifier": "S-1-12-1-45981654-1196986259-3072312199-%d" % i,
            "tenantId": T, "tenantName": "BENCH"}})
        recs.append({"kind": "AZGroupMember", "data": {"members": [
            {"member": {"@odata.type": "#microsoft.graph.user", "createdDateTime": "2022-04-11T09:13:27Z",
                        "displayName": "USER %d" % (i - k), "id": gid("A", i - k)}, "groupId": group} for k in range(10)],
            "groupId": group}})
    return recs


while written < size:
    i += 1
    if mix == "devices":
        recs = [{"kind": "AZDevice", "data": {"id": gid("D", i), "displayName": "LAPTOP-%d" % i, "operatingSystem": "Windows",
                 "trustType": "AzureAd", "tenantId": T, "extensionAttributes": {"a%d" % k: "v" * 20 for k in range(8)}}}]
    elif mix == "azurehound":
        recs = azurehound_shaped(i)
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
        s = ",\n" + (json.dumps(r, separators=(",", ":")) if mix == "azurehound" else json.dumps(r))
        out.write(s)
        written += len(s)
out.write('\n],\n"meta": {"type": "azure", "version": 5, "methods": 0}}\n')
