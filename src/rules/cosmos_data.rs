//! Cosmos DB for NoSQL data-plane role assignments (`sqlRoleAssignments`): read and write access to
//! an account's items, granted by Cosmos DB's own role system, not by Azure RBAC.

use super::{Context, Hit, Plane, Rule, grant_text, plain_edge, rbac_edge};
use crate::facts::{CosmosRoleAssignment, CosmosRoleDefinition, Resource};
use crate::glob::ActionPattern;
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind, NodeKind};

/// Data actions that read items: a point read, or a query.
const READS: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery",
];
/// Data actions that write items.
const WRITES: &[&str] = &[
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/create",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/replace",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/upsert",
];

/// The built-in definitions (Microsoft Learn, "Azure Cosmos DB for NoSQL data plane built-in role
/// reference"), used when an account's definition list does not include them.
const BUILTINS: &[(&str, &str, &[&str])] = &[
    (
        "00000000-0000-0000-0000-000000000001",
        "Cosmos DB Built-in Data Reader",
        &[
            "Microsoft.DocumentDB/databaseAccounts/readMetadata",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/readChangeFeed",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000002",
        "Cosmos DB Built-in Data Contributor",
        &[
            "Microsoft.DocumentDB/databaseAccounts/readMetadata",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/*",
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/*",
        ],
    ),
];

pub const READ_DATA: Rule = Rule {
    id: "cosmos-sql-read-data",
    edges: &[EdgeKind::ReadData],
    summary: "A Cosmos DB SQL role assignment whose definition reads items (Built-in Data Reader/Contributor).",
    doc: concat!(
        "What it does: a ReadData edge from the principal of each Cosmos DB for NoSQL data-plane role \
assignment to its account when the assigned definition's data actions match an item read or a query \
(`sqlDatabases/containers/items/read`, `containers/executeQuery`: Cosmos DB Built-in Data Reader \
00000000-0000-0000-0000-000000000001 and Data Contributor ...0002, known by id when the account's \
definition list omits them, or a custom definition). An assignment scoped to a database or container \
still targets the account node (azpath has no nodes below it) and says its scope in the reason. ",
        "Why it matters: this is the data itself, with no key and no Azure role needed; it works whether or \
not local (key) auth is disabled. Management locks do not apply (data plane). ",
        "Must not fire: for a definition with only `readMetadata`, for an Azure RBAC role assignment even if its \
role lists DocumentDB data actions, or for an assignment whose definition is unknown (neither collected \
nor built in). ",
        "Source: Microsoft Learn, \"Use data plane role-based access control with Azure Cosmos DB for NoSQL\" \
(https://learn.microsoft.com/azure/cosmos-db/nosql/security/how-to-grant-data-plane-role-based-access): an \
assignment (principalId, roleDefinitionId, scope = the account, a database or a container) grants the \
`dataActions` of its definition, wildcards included; `notDataActions` is not supported (\"Azure Cosmos DB for \
NoSQL data plane actions reference\"), and these roles are distinct from Azure RBAC role definitions \
(\"data plane built-in role reference\")."
    ),
    derive: derive_read,
};

pub const WRITE_DATA: Rule = Rule {
    id: "cosmos-sql-write-data",
    edges: &[EdgeKind::WriteData],
    summary: "A Cosmos DB SQL role assignment whose definition writes items (Built-in Data Contributor).",
    doc: "What it does: a WriteData edge from the principal of each Cosmos DB for NoSQL data-plane role \
assignment to its account when the assigned definition's data actions match creating, replacing or \
upserting items (`sqlDatabases/containers/items/*` in Cosmos DB Built-in Data Contributor \
00000000-0000-0000-0000-000000000002, or a custom definition). Why it matters: writing the records an \
application or a model pipeline reads poisons them. Must not fire: for Cosmos DB Built-in Data Reader \
or any read-only definition, or for an Azure RBAC role assignment (Cosmos DB evaluates only its own \
assignments; see cosmos-sql-read-data).",
    derive: derive_write,
};

const ASSIGNMENT_WRITE: &str = "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/write";

pub const ASSIGN: Rule = Rule {
    id: "cosmos-sql-assign",
    edges: &[EdgeKind::AssignRoles],
    summary: "An Azure role that writes Cosmos DB SQL role assignments can grant itself the account's data.",
    doc: concat!(
        "What it does: an AssignRoles edge from the principal to each Cosmos DB account beneath the scope of \
an Azure RBAC assignment whose role allows `Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/write` \
(DocumentDB Account Contributor and Contributor through their wildcards; Azure Databases ARM Management \
Contributor; Foundational RP Contributor). Creating a data-plane role assignment is an ARM operation \
(Microsoft Learn, \"Use data plane role-based access control with Azure Cosmos DB for NoSQL\": the \
caller needs `sqlRoleAssignments/write`), so the principal can assign itself Cosmos DB Built-in Data \
Contributor (00000000-0000-0000-0000-000000000002) at the account and then read and write every item, \
with Entra tokens: unlike keys, it works when `disableLocalAuth` is true. ",
        read_only_lock_doc!(),
        " Must not fire: for Cosmos DB Operator (its notActions remove `sqlRoleAssignments/write`), Cosmos DB \
Account Reader Role or Reader, or when a deny assignment removes the action."
    ),
    derive: derive_assign,
};

fn derive_assign(ctx: &Context, out: &mut Vec<Edge>) {
    let accept = |r: &Resource| ctx.node(&r.id).is_some_and(|n| n.kind == NodeKind::CosmosDBAccount);
    for (g, r, how) in ctx.rbac_matches(ASSIGNMENT_WRITE, false, accept) {
        let reason = format!(
            "{} allows {ASSIGNMENT_WRITE}: can assign itself Cosmos DB Built-in Data Contributor on {} and read \
and write its items (works with local auth disabled)",
            grant_text(ctx, g),
            r.name
        );
        let hit = Hit { target: &r.id, action: ASSIGNMENT_WRITE, how: &how, plane: Plane::Arm(&r.id) };
        out.extend(rbac_edge(ctx, &ASSIGN, g, hit, reason, vec![]));
    }
}

fn derive_read(ctx: &Context, out: &mut Vec<Edge>) {
    derive(ctx, out, &READ_DATA, READS, "read its items");
}

fn derive_write(ctx: &Context, out: &mut Vec<Edge>) {
    derive(ctx, out, &WRITE_DATA, WRITES, "write its items");
}

/// An assignment's definition: from the account's list, or a built-in by its id.
enum Definition<'f> {
    Listed(&'f CosmosRoleDefinition),
    Builtin(&'static str, &'static str, Vec<ActionPattern>),
}

fn definition<'f>(ctx: &Context<'f>, a: &CosmosRoleAssignment) -> Option<Definition<'f>> {
    if let Some(d) = ctx.facts.cosmos_role_definitions.iter().find(|d| d.id == a.role_definition_id) {
        return Some(Definition::Listed(d));
    }
    let guid = crate::facts::ids::last_segment(&a.role_definition_id);
    BUILTINS.iter().find(|(id, _, _)| *id == guid).map(|(id, name, actions)| {
        Definition::Builtin(id, name, actions.iter().map(|&s| ActionPattern::from(s)).collect())
    })
}

fn derive(ctx: &Context, out: &mut Vec<Edge>, rule: &Rule, actions: &[&str], meaning: &str) {
    for a in &ctx.facts.cosmos_role_assignments {
        if ctx.node(&a.account_id).is_none_or(|n| n.kind != NodeKind::CosmosDBAccount) {
            continue;
        }
        let Some(def) = definition(ctx, a) else { continue };
        let (name, patterns, def_evidence) = match &def {
            Definition::Listed(d) => (
                d.role_name.as_str(),
                d.data_actions.as_slice(),
                Evidence::new(EvidenceKind::CosmosRoleDefinition, format!("{} ({})", d.role_name, d.id))
                    .of_fact(&d.fact_key()),
            ),
            Definition::Builtin(id, name, p) => (
                *name,
                p.as_slice(),
                Evidence::new(EvidenceKind::CosmosRoleDefinition, format!("{name} ({id}, built in)")),
            ),
        };
        let Some((action, pattern)) =
            actions.iter().find_map(|act| patterns.iter().find(|p| p.matches(act)).map(|p| (*act, p.as_str())))
        else {
            continue;
        };
        let within = if a.scope == a.account_id || a.scope == "/" {
            String::new()
        } else {
            format!(" (limited to {})", a.scope.strip_prefix(a.account_id.as_str()).unwrap_or(&a.scope))
        };
        let reason = format!(
            "Cosmos DB SQL role {name} on {}{within} allows data action {action}: can {meaning}",
            ctx.name(&a.account_id)
        );
        let evidence = vec![
            Evidence::new(EvidenceKind::CosmosRoleAssignment, a.id.clone()).of_fact(&a.fact_key()),
            def_evidence,
            Evidence::new(EvidenceKind::Scope, a.scope.clone()),
            Evidence::new(EvidenceKind::MatchedAction, format!("{action} (granted by `{pattern}`)")),
        ];
        out.push(plain_edge(rule, &a.principal_id, &a.account_id, reason, evidence));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::EdgeKind::{ReadData, WriteData};
    use crate::rules::testkit::*;
    use serde_json::json;

    const READER: &str = "00000000-0000-0000-0000-000000000001";
    const CONTRIBUTOR: &str = "00000000-0000-0000-0000-000000000002";

    fn account(t: &mut T, rg: &str, name: &str) -> String {
        t.resource(
            rg,
            "Microsoft.DocumentDB/databaseAccounts",
            name,
            json!({"kind": "GlobalDocumentDB", "properties": {"disableLocalAuth": true}}),
        )
    }

    #[test]
    fn roles_that_write_sql_role_assignments_can_grant_themselves_the_data() {
        use crate::model::EdgeKind::AssignRoles;
        let mut t = T::new();
        let rg = t.rg("rg");
        let acc = account(&mut t, &rg, "cosmos");
        let (dac, op, rd, reader, denied) = (t.sp("dac"), t.sp("op"), t.sp("rd"), t.sp("reader"), t.sp("denied"));
        t.assign(&dac, "DocumentDB Account Contributor", &rg);
        t.assign(&op, "Cosmos DB Operator", &rg);
        t.assign(&rd, "Cosmos DB Account Reader Role", &rg);
        t.assign(&reader, "Reader", &rg);
        t.assign(&denied, "DocumentDB Account Contributor", &rg);
        t.deny(&rg, &denied, &["Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/*"]);
        let d = t.derive();
        let e = edge(&d, &dac, &acc, AssignRoles).expect("databaseAccounts/* covers sqlRoleAssignments/write");
        assert_eq!(&*e.rule, "cosmos-sql-assign");
        assert!(e.reason(&d).contains("local auth disabled"), "{}", e.reason(&d));
        for p in [&op, &rd, &reader, &denied] {
            assert!(!has(&d, p, &acc, AssignRoles), "{p}: {:?}", out(&d, p));
        }
        // A ReadOnly lock refuses the PUT.
        let mut t2 = T::new();
        let rg2 = t2.rg("rg");
        let acc2 = account(&mut t2, &rg2, "cosmos");
        let dac2 = t2.sp("dac");
        t2.assign(&dac2, "DocumentDB Account Contributor", &rg2);
        t2.lock(&acc2, "freeze", "ReadOnly");
        assert!(!has(&t2.derive(), &dac2, &acc2, AssignRoles));
    }

    #[test]
    fn built_in_reader_reads_and_contributor_writes() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let acc = account(&mut t, &rg, "cosmos");
        let (r, c) = (t.sp("r"), t.user("c"));
        let ra = t.cosmos_assign(&acc, &r, READER, None);
        t.cosmos_assign(&acc, &c, CONTRIBUTOR, Some(&format!("{acc}/dbs/features")));
        let d = t.derive();
        let e = edge(&d, &r, &acc, ReadData).expect("Built-in Data Reader reads items");
        assert!(e.reason(&d).contains("Cosmos DB Built-in Data Reader"), "{}", e.reason(&d));
        let evidence = e.evidence();
        let ev = evidence.iter().find(|ev| ev.kind == crate::model::EvidenceKind::CosmosRoleAssignment).unwrap();
        assert_eq!(ev.value, crate::facts::ids::norm(&ra));
        assert!(!has(&d, &r, &acc, WriteData), "the reader cannot write");
        let w = edge(&d, &c, &acc, WriteData).expect("Built-in Data Contributor writes items");
        assert!(w.reason(&d).contains("limited to /dbs/features"), "{}", w.reason(&d));
        assert!(has(&d, &c, &acc, ReadData));
    }

    #[test]
    fn custom_definitions_are_matched_with_wildcards() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let acc = account(&mut t, &rg, "cosmos");
        let writer = t.cosmos_role(
            &acc,
            "Item writer",
            &["Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/*"],
        );
        let meta = t.cosmos_role(&acc, "Metadata only", &["Microsoft.DocumentDB/databaseAccounts/readMetadata"]);
        let (w, m, u) = (t.sp("w"), t.sp("m"), t.sp("u"));
        t.cosmos_assign(&acc, &w, &writer, None);
        t.cosmos_assign(&acc, &m, &meta, None);
        t.cosmos_assign(&acc, &u, "11111111-2222-3333-4444-555555555555", None);
        let d = t.derive();
        assert!(has(&d, &w, &acc, WriteData) && has(&d, &w, &acc, ReadData));
        assert!(out(&d, &m).is_empty(), "readMetadata alone reads no items");
        assert!(out(&d, &u).is_empty(), "an unknown definition grants nothing azpath can show");
    }

    #[test]
    fn azure_rbac_data_actions_do_not_grant_cosmos_data() {
        let mut t = T::new();
        let rg = t.rg("rg");
        let acc = account(&mut t, &rg, "cosmos");
        let role = t.custom_role(
            "Cosmos data via ARM",
            &[],
            &["Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/*"],
        );
        let p = t.sp("p");
        t.assign(&p, &role, &rg);
        let d = t.derive();
        assert!(!has(&d, &p, &acc, ReadData) && !has(&d, &p, &acc, WriteData));
        assert!(out(&d, &p).is_empty(), "ARM role assignments are not evaluated by Cosmos DB: {:?}", out(&d, &p));
    }
}
