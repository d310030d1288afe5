//! Every route a capstone serves is in its OpenAPI document: a route missing from `openapi.rs`
//! would otherwise go unnoticed (`#[utoipa::path]` only describes a handler, it does not
//! register it). A capstone's test builds an `App` from its `routes::configure`, reads the
//! route table actix built, and compares it with the document.

use actix_web::{App, HttpRequest, test, web};
use serde_json::Value;

/// The full path of every route `configure` registers (call it with the capstone's
/// `routes::configure`). Needs actix's runtime (`#[actix_web::test]`).
pub async fn of(configure: impl FnOnce(&mut web::ServiceConfig)) -> Vec<String> {
    const PROBE: &str = "/__route-table";
    // The probe first: a capstone's catch-all (`/{code}`) would otherwise answer for it.
    let probe =
        web::get().to(|req: HttpRequest| async move { format!("{:#?}", req.resource_map()) });
    let app = test::init_service(App::new().route(PROBE, probe).configure(configure)).await;
    let table =
        test::call_and_read_body(&app, test::TestRequest::get().uri(PROBE).to_request()).await;
    let mut routes = routes_in(std::str::from_utf8(&table).expect("UTF-8"));
    routes.retain(|r| r != PROBE);
    routes
}

/// The full path of every resource in actix's route table, read from its pretty debug output
/// (`format!("{:#?}", req.resource_map())`): actix offers no public way to list its routes,
/// but its `ResourceMap` is a tree of nodes, each with a pattern and, for a scope, children.
/// A path parameter's regex is dropped (`{tail:.*}` → `{tail}`), as OpenAPI writes it.
pub fn routes_in(resource_map: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut routes = Vec::new();
    let mut lines = resource_map.lines().peekable();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.ends_with("ResourceMap {") {
            stack.push((indent, String::new()));
        } else if text == "patterns: Single(" {
            // The pattern is on the next line, quoted: `"/todos/{id}",`. The first one after
            // a node opens is the node's own (deeper ones belong to its children).
            let pattern = lines
                .peek()
                .map(|l| l.trim().trim_end_matches(',').trim_matches('"'));
            if let (Some(pattern), Some(top)) = (pattern, stack.last_mut())
                && top.1.is_empty()
            {
                top.1 = without_regexes(pattern);
            }
        } else if text == "nodes: None," {
            routes.push(stack.iter().map(|(_, p)| p.as_str()).collect::<String>());
        } else if (text == "}," || text == "}") && stack.last().is_some_and(|(i, _)| *i == indent) {
            stack.pop();
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

fn without_regexes(pattern: &str) -> String {
    let (mut out, mut in_name, mut in_regex) = (String::new(), false, false);
    for c in pattern.chars() {
        match c {
            '{' => in_name = true,
            ':' if in_name => in_regex = true,
            '}' => (in_name, in_regex) = (false, false),
            _ => {}
        }
        if !in_regex {
            out.push(c);
        }
    }
    out
}

/// The routes in `routes` that the OpenAPI document `openapi` does not describe, leaving out
/// those in `not_in_api` (pages, redirects: what is not a JSON API).
pub fn undocumented(routes: &[String], openapi: &Value, not_in_api: &[&str]) -> Vec<String> {
    let documented = openapi["paths"].as_object().cloned().unwrap_or_default();
    routes
        .iter()
        .filter(|r| !documented.contains_key(r.as_str()) && !not_in_api.contains(&r.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::without_regexes;

    #[test]
    fn regexes_in_path_parameters_are_dropped() {
        assert_eq!(without_regexes("/docs/{tail:.*}"), "/docs/{tail}");
        assert_eq!(without_regexes("/todos/{id}"), "/todos/{id}");
        assert_eq!(without_regexes("/a/{x:[0-9]+}/b"), "/a/{x}/b");
    }
}
