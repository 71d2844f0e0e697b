//! Dynamic groups: whoever can give a user it controls the attribute a group's membership rule
//! reads puts that user in the group.
//!
//! Sources (Microsoft Learn): "Manage rules for dynamic membership groups in Microsoft Entra ID"
//! (rule syntax and operator precedence), "User management permissions for Microsoft Entra custom
//! roles" (`microsoft.directory/users/basic/update`), Graph "Create user" and "Update user".

use super::admin_units::{assignment_evidence, in_scope, members_by_unit, unit_evidence, unit_scope};
use super::directory_roles::{ResetReach, powers, reset_reach, resettable_users, role_actions};
use super::graph_app_roles::USER_ATTRIBUTE_WRITERS;
use super::{Context, Rule, plain_edge};
use crate::facts::ids::{app_role_node_id, directory_role_node_id};
use crate::facts::index::{Names, group_fact_key};
use crate::facts::{DirectoryObjectType, Group};
use crate::model::{Edge, EdgeKind, Evidence, EvidenceKind};
use crate::rbac::{MICROSOFT_GRAPH_APP_ID, directory_action_matches};
use std::collections::{HashMap, HashSet};

pub const RULE: Rule = Rule {
    id: "dynamic-membership-attribute",
    edges: &[EdgeKind::AddMember],
    summary: "Whoever can create or take over a user and write its basic attributes can make it match a dynamic group's rule.",
    doc: "What it does: a conditional AddMember to each dynamic group (membership rule processed, not \
paused) whose rule reads only user attributes that `microsoft.directory/users/basic/update` writes \
(Microsoft does not list them; azpath keeps a short list of profile attributes: department, jobTitle, \
companyName, officeLocation, city, state, country, postalCode, streetAddress, displayName, givenName, \
surname) in simple clauses: `user.<attribute> -eq|-contains|-startsWith \"value\"` \
joined by -and / -or, with parentheses, satisfiable together. From: a tenant-wide directory role with \
`users/basic/update` that can also get a user of its own (`users/create`, or a credential reset of some \
user outside restricted administrative units: User Administrator, Authentication Administrator, Global \
Administrator, Directory Writers, ...); Microsoft Graph User.ReadWrite.All and Directory.ReadWrite.All \
(both create users with a password); and, straight from the holder, a directory role with \
`users/basic/update` scoped to an administrative unit that holds a user the same role can reset (or the \
holder itself). The edge is conditional: the attacker needs that user, and membership follows only when \
Entra processes the rule. Why it matters: dynamic groups grant access by attribute, and attributes are \
writable by many more principals than group memberships. Sources: Microsoft Learn \"Manage rules for \
dynamic membership groups in Microsoft Entra ID\", \"User management permissions for Microsoft Entra \
custom roles\", Graph \"Create user\". Must not fire: for a rule reading any other \
attribute (extension attributes, employeeId, usageLocation, userPrincipalName, mail, accountEnabled, \
memberOf, manager, device attributes) or using any other operator (-ne, -not..., -match, -in, -any, \
-all): azpath does not guess; for a paused rule; for roles that write attributes but cannot get a user of \
their own (Intune Administrator: it has no edge here). A dynamic administrative unit gets no edge: \
pulling a user into a unit gives the unit's administrators power over it, not the attacker (rule \
`admin-unit-scoped-role` covers an attacker who holds both the attribute write and a role on that unit).",
    derive,
};

/// The permission that writes a user's basic attributes.
pub(super) const BASIC_UPDATE: &str = "microsoft.directory/users/basic/update";
const USERS_CREATE: &str = "microsoft.directory/users/create";

/// User attributes that `users/basic/update` writes ("Update basic properties on users"): the
/// profile properties that built-in roles holding only that user-update permission (User
/// Administrator, Directory Writers) change, and that Microsoft's default user permissions do not
/// let users change themselves. Microsoft does not list them; this list is kept short on purpose.
/// Not here: attributes with their own permission (`usageLocation`, `userPrincipalName`,
/// `manager`, extension attributes), sensitive ones (`mail`, `otherMails`, `mobilePhone`,
/// `accountEnabled`) and lifecycle ones (`employeeId`, `employeeType`, `employeeHireDate`).
pub(super) const BASIC_USER_ATTRIBUTES: &[&str] = &[
    "department",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "state",
    "country",
    "postalCode",
    "streetAddress",
    "displayName",
    "givenName",
    "surname",
];

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Contains,
    StartsWith,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    /// Lower case.
    attribute: String,
    op: Op,
    /// Lower case: Entra compares strings case-insensitively.
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Clause(Clause),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Operator(String),
    Word(String),
    Text(String),
}

fn tokens(rule: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = rule.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        q if q == c => break,
                        // An escaped quote (a backtick in Entra rules): not a simple value.
                        '`' => return None,
                        x => s.push(x),
                    }
                }
                out.push(Token::Text(s));
            }
            // Hyphens as written in Microsoft's pages are sometimes an en dash.
            '-' | '–' => {
                chars.next();
                let mut s = String::new();
                while let Some(&x) = chars.peek().filter(|x| x.is_ascii_alphabetic()) {
                    s.push(x);
                    chars.next();
                }
                out.push(Token::Operator(s.to_ascii_lowercase()));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                let mut s = String::new();
                while let Some(&x) = chars.peek().filter(|x| x.is_ascii_alphanumeric() || **x == '_' || **x == '.') {
                    s.push(x);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Recursive descent: `-or` binds loosest, then `-and` (Microsoft's operator precedence).
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Option<Expr> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Operator("or".into())) {
            self.next();
            parts.push(self.and()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and(&mut self) -> Option<Expr> {
        let mut parts = vec![self.term()?];
        while self.peek() == Some(&Token::Operator("and".into())) {
            self.next();
            parts.push(self.term()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn term(&mut self) -> Option<Expr> {
        match self.next()? {
            Token::Open => {
                let e = self.or()?;
                (self.next()? == Token::Close).then_some(e)
            }
            Token::Word(w) => {
                let (object, attribute) = w.split_once('.')?;
                if !object.eq_ignore_ascii_case("user") || attribute.contains('.') {
                    return None;
                }
                let op = match self.next()? {
                    Token::Operator(o) if o == "eq" => Op::Eq,
                    Token::Operator(o) if o == "contains" => Op::Contains,
                    Token::Operator(o) if o == "startswith" => Op::StartsWith,
                    _ => return None,
                };
                let Token::Text(value) = self.next()? else { return None };
                Some(Expr::Clause(Clause {
                    attribute: attribute.to_ascii_lowercase(),
                    op,
                    value: value.to_lowercase(),
                }))
            }
            _ => None,
        }
    }
}

fn parse(rule: &str) -> Option<Expr> {
    let mut p = Parser { tokens: tokens(rule)?, at: 0 };
    let e = p.or()?;
    (p.at == p.tokens.len()).then_some(e)
}

/// The rule as alternatives, each a list of clauses that must all hold.
fn alternatives(e: &Expr) -> Vec<Vec<&Clause>> {
    match e {
        Expr::Clause(c) => vec![vec![c]],
        Expr::Or(parts) => parts.iter().flat_map(alternatives).collect(),
        Expr::And(parts) => parts.iter().fold(vec![vec![]], |acc, p| {
            let alts = alternatives(p);
            acc.iter()
                .flat_map(|a| {
                    alts.iter().map(move |b| {
                        let mut v = a.clone();
                        v.extend(b.iter().copied());
                        v
                    })
                })
                .collect()
        }),
    }
}

/// Can one user satisfy all of these clauses at once?
fn satisfiable(clauses: &[&Clause]) -> bool {
    let mut attrs: Vec<&str> = clauses.iter().map(|c| c.attribute.as_str()).collect();
    attrs.sort();
    attrs.dedup();
    attrs.into_iter().all(|attr| {
        let on: Vec<&&Clause> = clauses.iter().filter(|c| c.attribute == attr).collect();
        let eq: Vec<&str> = on.iter().filter(|c| c.op == Op::Eq).map(|c| c.value.as_str()).collect();
        let starts: Vec<&str> = on.iter().filter(|c| c.op == Op::StartsWith).map(|c| c.value.as_str()).collect();
        let contains: Vec<&str> = on.iter().filter(|c| c.op == Op::Contains).map(|c| c.value.as_str()).collect();
        match eq.first() {
            Some(v) => {
                eq.iter().all(|x| x == v)
                    && starts.iter().all(|s| v.starts_with(s))
                    && contains.iter().all(|s| v.contains(s))
            }
            None => starts.iter().all(|a| starts.iter().all(|b| a.starts_with(b) || b.starts_with(a))),
        }
    })
}

/// The attributes a dynamic membership rule reads, if it is simple enough to read, reads only
/// attributes `users/basic/update` writes, and some user can satisfy it; `None` otherwise.
pub(super) fn writable_rule(rule: &str) -> Option<Vec<String>> {
    let e = parse(rule)?;
    let alts = alternatives(&e);
    let mut attrs: Vec<String> = alts.iter().flatten().map(|c| c.attribute.clone()).collect();
    attrs.sort();
    attrs.dedup();
    let basic = |a: &String| BASIC_USER_ATTRIBUTES.iter().any(|b| b.eq_ignore_ascii_case(a));
    (attrs.iter().all(basic) && alts.iter().any(|a| satisfiable(a))).then_some(attrs)
}

/// Dynamic groups whose rule a written attribute satisfies, with the attributes it reads.
fn dynamic_groups<'f>(ctx: &Context<'f>) -> Vec<(&'f Group, String, Vec<String>)> {
    ctx.facts
        .groups
        .iter()
        .filter(|g| g.dynamic && !g.rule_paused && !g.is_assignable_to_role && !g.synced)
        .filter_map(|g| {
            let rule = g.membership_rule.as_ref()?;
            Some((g, rule.clone(), writable_rule(rule)?))
        })
        .collect()
}

fn rule_evidence(g: &Group, rule: &str) -> Evidence {
    Evidence::new(EvidenceKind::MembershipRule, rule.to_string()).of_fact(&group_fact_key(&g.id))
}

fn reason(who: &str, how: &str, g: &Group, rule: &str, attrs: &[String]) -> String {
    format!(
        "{who} can {how} and set its {} to match the membership rule of dynamic group {} (`{rule}`) (conditional: it needs that user, and membership follows when Entra processes the rule)",
        attrs.join(", "),
        g.display_name
    )
}

fn derive(ctx: &Context, out: &mut Vec<Edge>) {
    let groups = dynamic_groups(ctx);
    if groups.is_empty() {
        return;
    }
    let resettable_outside_restricted = |role: &str| {
        resettable_users(ctx, reset_reach(role)).into_iter().any(|(u, _)| ctx.restricted_unit(&u).is_none())
    };
    // Tenant-wide directory roles.
    let mut roles: Vec<&str> = ctx
        .facts
        .directory_role_assignments
        .iter()
        .filter(|a| a.directory_scope_id.trim_end_matches('/').is_empty())
        .map(|a| a.role_definition_id.as_str())
        .collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let Some(actions) = role_actions(ctx, role) else { continue };
        let Some(update) = actions.iter().find(|a| directory_action_matches(a, BASIC_UPDATE)) else { continue };
        let create = actions.iter().find(|a| directory_action_matches(a, USERS_CREATE));
        let reset = powers(actions).find(|p| p.1 == EdgeKind::ResetCredential);
        let (how, granted) = match (create, reset) {
            (Some(c), _) => ("create a user", format!("{USERS_CREATE} (granted by `{c}`)")),
            (None, Some((want, _, _, by))) if resettable_outside_restricted(role) => {
                ("reset a user's password", format!("{want} (granted by `{by}`)"))
            }
            _ => continue,
        };
        let node = directory_role_node_id(role);
        let name = ctx.name(&node);
        for (g, rule, attrs) in &groups {
            let evidence = vec![
                Evidence::named(EvidenceKind::DirectoryRole, &name, role),
                Evidence::new(EvidenceKind::AllowedResourceAction, format!("{BASIC_UPDATE} (granted by `{update}`)")),
                Evidence::new(EvidenceKind::AllowedResourceAction, granted.clone()),
                rule_evidence(g, rule),
            ];
            let e = plain_edge(&RULE, &node, &g.id, reason(&name, how, g, rule, attrs), evidence);
            out.push(e.with_flags(false, true));
        }
    }
    // Graph application permissions that create users and write their attributes.
    let mut held: Vec<&str> = ctx
        .facts
        .app_role_assignments
        .iter()
        .filter(|a| USER_ATTRIBUTE_WRITERS.contains(&a.app_role_id.as_str()) && ctx.is_graph_permission(a))
        .map(|a| a.app_role_id.as_str())
        .collect();
    held.sort();
    held.dedup();
    for perm in held {
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, perm);
        let name = Names::graph_permission(perm).to_string();
        for (g, rule, attrs) in &groups {
            let evidence = vec![Evidence::named(EvidenceKind::GraphPermission, &name, perm), rule_evidence(g, rule)];
            let who = format!("Graph {name}");
            let e = plain_edge(
                &RULE,
                &node,
                &g.id,
                reason(&who, "create a user with a password", g, rule, attrs),
                evidence,
            );
            out.push(e.with_flags(false, true));
        }
    }
    // Roles scoped to an administrative unit: they write the attributes of the unit's users only,
    // so the holder needs one of them (one it can reset, or itself).
    let by_unit = members_by_unit(ctx);
    let mut reset_cache: HashMap<ResetReach, HashSet<String>> = HashMap::new();
    for a in &ctx.facts.directory_role_assignments {
        let Some(unit_id) = unit_scope(&a.directory_scope_id) else { continue };
        let Some(unit) = ctx.facts.administrative_units.iter().find(|u| u.id == unit_id) else { continue };
        let Some(actions) = role_actions(ctx, &a.role_definition_id) else { continue };
        let Some(update) = actions.iter().find(|x| directory_action_matches(x, BASIC_UPDATE)) else { continue };
        let users: Vec<_> = by_unit
            .get(unit.id.as_str())
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|m| m.member_type == DirectoryObjectType::User && in_scope(ctx, unit, &m.member_id))
            .collect();
        let itself = users.iter().find(|m| m.member_id == a.principal_id);
        let resets = powers(actions).any(|p| p.1 == EdgeKind::ResetCredential);
        let reset = if resets {
            let reach = reset_reach(&a.role_definition_id);
            let resettable = reset_cache.entry(reach).or_insert_with(|| {
                resettable_users(ctx, reach).into_iter().filter(|(_, contested)| !contested).map(|(u, _)| u).collect()
            });
            users.iter().find(|m| resettable.contains(&m.member_id))
        } else {
            None
        };
        let (how, member) = match (itself, reset) {
            (Some(m), _) => ("use its own account".to_string(), m),
            (None, Some(m)) => (format!("reset the password of {}", ctx.name(&m.member_id)), m),
            _ => continue,
        };
        let role = ctx.name(&directory_role_node_id(&a.role_definition_id));
        let holder = ctx.name(&a.principal_id);
        for (g, rule, attrs) in &groups {
            let who = format!("{holder}, holding {role} scoped to administrative unit {},", unit.display_name);
            let mut text = reason(&who, &how, g, rule, attrs);
            if a.eligible {
                text.push_str(" (PIM-eligible: requires activation)");
            }
            let evidence = vec![
                assignment_evidence(a),
                Evidence::new(EvidenceKind::DirectoryScope, a.directory_scope_id.clone()),
                Evidence::named(EvidenceKind::DirectoryRole, &role, &a.role_definition_id),
                unit_evidence(unit, member),
                Evidence::new(EvidenceKind::AllowedResourceAction, format!("{BASIC_UPDATE} (granted by `{update}`)")),
                rule_evidence(g, rule),
            ];
            let e = plain_edge(&RULE, &a.principal_id, &g.id, text, evidence);
            out.push(e.with_flags(a.eligible, true));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::writable_rule;
    use crate::facts::ids::{app_role_node_id, directory_role_node_id};
    use crate::model::EdgeKind::*;
    use crate::model::EvidenceKind;
    use crate::rbac::MICROSOFT_GRAPH_APP_ID;
    use crate::rules::testkit::*;
    use serde_json::json;

    const USER_ADMIN: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
    const AUTH_ADMIN: &str = "c4e39bd9-1100-46d3-8c65-fb160da0071f";
    const INTUNE_ADMIN: &str = "3a2c62db-5318-420d-8d74-23affee5d9d5";
    const HELPDESK: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
    const USER_READWRITE: &str = "741f803b-c850-494e-b5df-cde7c675a1ca";

    fn dynamic(t: &mut T, name: &str, rule: &str) -> String {
        t.group_with(
            name,
            json!({"groupTypes": ["DynamicMembership"], "membershipRule": rule, "membershipRuleProcessingState": "On"}),
        )
    }

    #[test]
    fn simple_rules_on_basic_attributes_are_read_and_everything_else_is_not() {
        let yes = [
            ("user.department -eq \"ML\"", vec!["department"]),
            ("(user.department -eq \"ML\")", vec!["department"]),
            ("(user.Department -EQ 'ML') -and (user.country -eq \"DE\")", vec!["country", "department"]),
            (
                "user.jobTitle -contains \"contract\" -or user.companyName -startsWith \"Fabrikam\"",
                vec!["companyname", "jobtitle"],
            ),
            ("user.city -eq \"Oslo\" -and (user.state -eq \"x\" -or user.state -eq \"y\")", vec!["city", "state"]),
            ("user.department –eq \"ML\"", vec!["department"]),
        ];
        for (rule, attrs) in yes {
            assert_eq!(writable_rule(rule), Some(attrs.iter().map(|a| a.to_string()).collect()), "{rule}");
        }
        for rule in [
            "user.extensionAttribute1 -eq \"x\"",
            "user.employeeId -eq \"1\"",
            "user.department -ne \"ML\"",
            "user.department -match \"ML.*\"",
            "user.department -in [\"a\",\"b\"]",
            "-not (user.department -eq \"ML\")",
            "user.accountEnabled -eq true",
            "device.deviceOSType -eq \"Windows\"",
            "user.memberof -any (group.objectId -in ['x'])",
            "user.department -eq \"A\" -and user.department -eq \"B\"",
            "user.department -eq \"ML\" -and user.usageLocation -eq \"DE\"",
            "user.department -eq \"ML",
            "(user.department -eq \"ML\"",
            "",
        ] {
            assert_eq!(writable_rule(rule), None, "{rule}");
        }
    }

    #[test]
    fn roles_that_write_attributes_and_get_a_user_reach_dynamic_groups_conditionally() {
        let mut t = T::new();
        let ua = t.user("user-admin");
        t.directory_role(&ua, USER_ADMIN, "/");
        let auth = t.user("auth-admin");
        t.directory_role(&auth, AUTH_ADMIN, "/");
        let intune = t.user("intune");
        t.directory_role(&intune, INTUNE_ADMIN, "/");
        t.user("plain");
        let ml = dynamic(&mut t, "all-ml", "user.department -eq \"ML\"");
        let ext = dynamic(&mut t, "ext", "user.extensionAttribute3 -eq \"ML\"");
        let paused = t.group_with(
            "paused",
            json!({"groupTypes": ["DynamicMembership"], "membershipRule": "user.department -eq \"ML\"", "membershipRuleProcessingState": "Paused"}),
        );
        let d = t.derive();
        let auth_role = directory_role_node_id(AUTH_ADMIN);
        let e = edge(&d, &auth_role, &ml, AddMember).expect("resets a user and sets its department");
        assert!(e.conditional && e.reason(&d).contains("user.department -eq \"ML\""), "{e:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::MembershipRule && ev.fact.is_some()));
        assert_eq!(&*e.rule, "dynamic-membership-attribute");
        // User Administrator rewrites the rule itself: the unconditional edge wins.
        assert!(!edge(&d, &directory_role_node_id(USER_ADMIN), &ml, AddMember).unwrap().conditional);
        assert!(!has(&d, &directory_role_node_id(INTUNE_ADMIN), &ml, AddMember), "cannot get a user of its own");
        assert!(!has(&d, &auth_role, &ext, AddMember), "extension attributes are not basic");
        assert!(!has(&d, &auth_role, &paused, AddMember), "a paused rule adds nobody");
    }

    #[test]
    fn graph_user_write_creates_a_matching_user() {
        let mut t = T::new();
        let g = t.graph_sp();
        let (_, hr) = t.app("hr-sync");
        t.graph_app_role(&hr, &g, USER_READWRITE);
        let ml = dynamic(&mut t, "all-ml", "user.department -eq \"ML\"");
        let plain = t.group("plain");
        let d = t.derive();
        let node = app_role_node_id(MICROSOFT_GRAPH_APP_ID, USER_READWRITE);
        assert!(has(&d, &hr, &node, HasRole));
        let e = edge(&d, &node, &ml, AddMember).unwrap();
        assert!(e.conditional && e.reason(&d).contains("create a user"), "{e:?}");
        assert!(!has(&d, &node, &plain, AddMember), "an assigned group is not reached by attributes");
    }

    #[test]
    fn a_unit_scoped_role_needs_a_user_of_the_unit_it_controls() {
        let mut t = T::new();
        let scoped = t.user("scoped-user-admin");
        let lonely = t.user("lonely-user-admin");
        let carol = t.user("carol");
        let ml = dynamic(&mut t, "all-ml", "user.department -eq \"ML\"");
        let au = t.admin_unit("ML contractors", json!({}));
        let empty = t.admin_unit("Empty", json!({}));
        t.unit_member(&au, &carol);
        t.directory_role(&scoped, USER_ADMIN, &format!("/administrativeUnits/{au}"));
        t.directory_role(&lonely, USER_ADMIN, &format!("/administrativeUnits/{empty}"));
        let hd = t.user("helpdesk");
        t.directory_role(&hd, HELPDESK, &format!("/administrativeUnits/{au}"));
        let d = t.derive();
        let e = edge(&d, &scoped, &ml, AddMember).expect("resets carol, sets her department");
        assert!(e.conditional && e.reason(&d).contains("carol"), "{e:?}");
        assert!(e.evidence().iter().any(|ev| ev.kind == EvidenceKind::AdministrativeUnit));
        assert!(!has(&d, &lonely, &ml, AddMember), "no user in its unit");
        assert!(!has(&d, &hd, &ml, AddMember), "Helpdesk Administrator writes no attributes");
    }
}
