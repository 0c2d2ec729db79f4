//! Behaviour validation's tests: the wire shape, what each event takes, and
//! path templates.

use super::*;

#[test]
fn the_issues_wire_shape_reads_and_shows_back_alike() {
    let body = br#"{"event": "server.create", "match": {"name": "^db-"},
        "behavior": {"fail": {"status": 500, "message": "injected"}}, "times": 2}"#;
    let behavior = NewBehavior::from_json(body).unwrap().validate().unwrap();
    let shown = serde_json::to_value(&behavior).unwrap();
    assert_eq!(shown["event"], "server.create");
    assert_eq!(shown["match"], serde_json::json!({"name": "^db-"}));
    assert_eq!(
        shown["behavior"],
        serde_json::json!({"fail": {"status": 500, "message": "injected"}})
    );
    assert_eq!(
        (shown["times"].clone(), shown["fired"].clone()),
        (2.into(), 0.into())
    );
}

fn check(body: &str) -> Result<Behavior, BehaviorError> {
    NewBehavior::from_json(body.as_bytes())?.validate()
}

#[test]
fn bodies_that_are_not_behaviors_are_malformed() {
    for body in [
        "not json",
        "[]",
        r#"{"event": "server.nap", "behavior": {"stuck": {}}}"#,
        r#"{"event": "api", "behavior": {"delay": {"ms": 1}}, "extra": 1}"#,
        r#"{"event": "api", "behavior": {"delay": {"ms": "1"}}}"#,
        r#"{"event": "api", "behavior": {"delay": {"ms": 1}, "fail": {"status": 500}}}"#,
        r#"{"event": "api", "behavior": {"explode": {}}}"#,
        r#"{"event": "api", "match": {"colour": "red"}, "behavior": {"delay": {"ms": 1}}}"#,
        r#"{"event": "api", "behavior": {"fail": {"status": 500, "loud": true}}}"#,
        r#"{"event": "api"}"#,
        r#"{"event": "api", "behavior": {"delay": {"ms": 1}}, "times": -1}"#,
    ] {
        let error = check(body).unwrap_err();
        assert!(
            matches!(error, BehaviorError::Malformed(_)),
            "{body}: {error:?}"
        );
        assert!(
            error.to_string().starts_with("Invalid behavior: "),
            "{error}"
        );
    }
}

#[test]
fn each_event_takes_only_the_criteria_it_has_something_to_match_against() {
    // (event, criteria it takes); every other criterion is refused.
    let all = ["name", "metadata", "project", "action", "method", "path"];
    let table: [(&str, &[&str]); 6] = [
        ("server.create", &["name", "metadata", "project"]),
        ("server.build", &["name", "metadata", "project"]),
        ("server.delete", &["name", "metadata", "project"]),
        ("server.action", &["name", "metadata", "project", "action"]),
        ("api", &["project", "method", "path"]),
        ("identity.token", &["project", "method", "path"]),
    ];
    for (event, takes) in table {
        let effect = if event == "server.build" {
            r#"{"stuck": {}}"#
        } else {
            r#"{"delay": {"ms": 1}}"#
        };
        for criterion in all {
            let value = match criterion {
                "metadata" => r#"{"k": "v"}"#,
                "path" => r#""/servers""#,
                _ => r#""x""#,
            };
            let body = format!(
                r#"{{"event": "{event}", "match": {{"{criterion}": {value}}}, "behavior": {effect}}}"#
            );
            let outcome = check(&body);
            if takes.contains(&criterion) {
                assert!(outcome.is_ok(), "{event} {criterion}: {outcome:?}");
            } else {
                assert_eq!(
                    outcome.unwrap_err(),
                    BehaviorError::CriterionNotForEvent {
                        event: event_name(event),
                        criterion: criterion_name(criterion),
                    },
                    "{event} {criterion}"
                );
            }
        }
    }
}

/// The event's own name for `name`, as errors carry it.
fn event_name(name: &str) -> &'static str {
    let event: Event = serde_json::from_value(serde_json::Value::from(name)).unwrap();
    event.as_str()
}

fn criterion_name(name: &str) -> &'static str {
    ["name", "metadata", "project", "action", "method", "path"]
        .into_iter()
        .find(|known| *known == name)
        .unwrap()
}

#[test]
fn each_event_takes_only_the_effects_it_can_have() {
    let effects = [
        ("fail", r#"{"fail": {"status": 500}}"#),
        ("error", r#"{"error": {}}"#),
        ("build", r#"{"build": {"seconds": 5}}"#),
        ("delay", r#"{"delay": {"ms": 5}}"#),
        ("stuck", r#"{"stuck": {}}"#),
    ];
    let table: [(&str, &[&str]); 6] = [
        (
            "server.create",
            &["fail", "error", "build", "delay", "stuck"],
        ),
        ("server.build", &["error", "build", "stuck"]),
        (
            "server.delete",
            &["fail", "error", "build", "delay", "stuck"],
        ),
        (
            "server.action",
            &["fail", "error", "build", "delay", "stuck"],
        ),
        ("api", &["fail", "delay"]),
        ("identity.token", &["fail", "delay"]),
    ];
    for (event, takes) in table {
        for (name, effect) in effects {
            let body = format!(r#"{{"event": "{event}", "behavior": {effect}}}"#);
            match check(&body) {
                Ok(behavior) => {
                    assert!(takes.contains(&name), "{event} took {name}");
                    assert_eq!(behavior.effect.name(), name);
                }
                Err(BehaviorError::EffectNotForEvent {
                    event: e,
                    effect,
                    allowed,
                }) => {
                    assert!(!takes.contains(&name), "{event} refused {name}");
                    assert_eq!((e, effect), (event_name(event), name));
                    assert_eq!(allowed.replace(" or ", ", "), takes.join(", "));
                }
                Err(other) => panic!("{event} {name}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_name_that_is_not_a_regular_expression_is_a_bad_pattern() {
    let error = check(
        r#"{"event": "server.create", "match": {"name": "db-("}, "behavior": {"stuck": {}}}"#,
    )
    .unwrap_err();
    assert!(matches!(error, BehaviorError::BadPattern(_)), "{error:?}");
    assert!(error
        .to_string()
        .starts_with("Invalid behavior: match.name is not a regular expression"));
}

#[test]
fn values_out_of_their_range_are_refused() {
    let max_delay = MAX_DELAY_MS + 1;
    let over_seconds = MAX_SECONDS + 1.0;
    let bodies = [
        r#"{"event": "api", "behavior": {"fail": {"status": 399}}}"#.to_owned(),
        r#"{"event": "api", "behavior": {"fail": {"status": 600}}}"#.to_owned(),
        r#"{"event": "api", "behavior": {"fail": {"status": 500, "kind": "compute fault"}}}"#
            .to_owned(),
        r#"{"event": "api", "behavior": {"fail": {"status": 500, "kind": ""}}}"#.to_owned(),
        format!(r#"{{"event": "api", "behavior": {{"delay": {{"ms": {max_delay}}}}}}}"#),
        r#"{"event": "server.build", "behavior": {"error": {"after_seconds": -1}}}"#.to_owned(),
        format!(
            r#"{{"event": "server.build", "behavior": {{"build": {{"seconds": {over_seconds}}}}}}}"#
        ),
        r#"{"event": "api", "behavior": {"delay": {"ms": 1}}, "times": 0}"#.to_owned(),
        r#"{"event": "api", "match": {"path": "servers"}, "behavior": {"delay": {"ms": 1}}}"#
            .to_owned(),
    ];
    for body in &bodies {
        let error = check(body).unwrap_err();
        assert!(
            matches!(error, BehaviorError::OutOfRange(_)),
            "{body}: {error:?}"
        );
    }
    let at_limits = [
        format!(r#"{{"event": "api", "behavior": {{"delay": {{"ms": {MAX_DELAY_MS}}}}}}}"#),
        format!(
            r#"{{"event": "server.build", "behavior": {{"build": {{"seconds": {MAX_SECONDS}}}}}}}"#
        ),
        r#"{"event": "api", "behavior": {"fail": {"status": 400, "kind": "badRequest"}}}"#
            .to_owned(),
        r#"{"event": "api", "behavior": {"fail": {"status": 599}}, "times": null}"#.to_owned(),
    ];
    for body in &at_limits {
        assert!(check(body).is_ok(), "{body}");
    }
}

#[test]
fn defaults_fill_what_a_behavior_leaves_out() {
    let behavior = check(r#"{"event": "server.build", "behavior": {"error": {}}}"#).unwrap();
    assert_eq!(behavior.criteria, Criteria::default());
    assert_eq!(behavior.times, None);
    assert!(behavior.is_active());
    assert_eq!(
        behavior.effect,
        Effect::Error(ErrorEffect {
            after_seconds: 0.0,
            message: "Injected error".to_owned()
        })
    );
    let fail = check(r#"{"event": "api", "behavior": {"fail": {"status": 503}}}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&fail.effect).unwrap(),
        serde_json::json!({"fail": {"status": 503, "message": "Injected failure"}})
    );
    let other = check(r#"{"event": "api", "behavior": {"fail": {"status": 503}}}"#).unwrap();
    assert_ne!(fail.id, other.id, "each behaviour has an id of its own");
}

#[test]
fn paths_match_their_templates_segment_by_segment() {
    let table = [
        ("/servers", "/servers", true),
        ("/servers", "/servers/", true),
        ("/servers/", "/servers", true),
        ("/servers/{id}", "/servers/abc", true),
        ("/servers/{id}", "/servers/", false),
        ("/servers/{id}", "/servers", false),
        ("/servers/{id}", "/servers/abc/action", false),
        ("/servers/{id}/action", "/servers/abc/action", true),
        ("/servers/{id}/action", "/servers//action", false),
        ("/servers/detail", "/servers/abc", false),
        ("/{anything}", "/flavors", true),
        ("/v3/auth/tokens", "/v3/auth/tokens", true),
        ("/v3/auth/tokens", "/v3/auth/token", false),
        ("/Servers", "/servers", false),
        ("/", "/", true),
        ("/", "/servers", false),
    ];
    for (template, path, expected) in table {
        assert_eq!(path_matches(template, path), expected, "{template} {path}");
    }
}

#[test]
fn a_matcher_checks_the_event_and_every_criterion() {
    let behavior = check(
        r#"{"event": "api", "match": {"method": "post", "path": "/servers", "project": "demo"},
            "behavior": {"delay": {"ms": 1}}}"#,
    )
    .unwrap();
    let matcher = Matcher::new(&behavior).unwrap();
    let facts = Facts {
        event: Event::Api,
        project: Some("demo"),
        server_name: None,
        metadata: None,
        action: None,
        method: Some("POST"),
        path: Some("/servers"),
    };
    assert!(matcher.matches(&facts), "methods match whatever their case");
    assert!(!matcher.matches(&Facts {
        event: Event::IdentityToken,
        ..facts
    }));
    assert!(!matcher.matches(&Facts {
        project: None,
        ..facts
    }));
    assert!(!matcher.matches(&Facts {
        method: Some("GET"),
        ..facts
    }));
    assert!(!matcher.matches(&Facts {
        path: Some("/servers/abc"),
        ..facts
    }));
}

#[test]
fn a_stored_record_whose_pattern_does_not_compile_matches_nothing() {
    let mut behavior = check(r#"{"event": "server.create", "behavior": {"stuck": {}}}"#).unwrap();
    behavior.criteria.name = Some("(".to_owned());
    assert!(Matcher::new(&behavior).is_none());
}

#[test]
fn match_and_behaviors_must_be_objects_not_arrays() {
    for body in [
        r#"{"event": "server.create", "match": [null, null], "behavior": {"stuck": {}}}"#,
        r#"{"event": "server.create", "behavior": [{"stuck": {}}]}"#,
        r#"{"event": "server.create", "behavior": {"fail": [500]}}"#,
        r#"{"event": "server.create", "behavior": {"stuck": null}}"#,
        r#"[{"event": "server.create", "behavior": {"stuck": {}}}]"#,
    ] {
        let refused = NewBehavior::from_json(body.as_bytes()).unwrap_err();
        assert!(
            matches!(&refused, BehaviorError::Malformed(message) if message.contains("must be a JSON object")),
            "{body}: {refused}"
        );
    }
    let no_criteria = r#"{"event": "server.create", "match": null, "behavior": {"stuck": {}}}"#;
    let behavior = NewBehavior::from_json(no_criteria.as_bytes()).unwrap();
    assert_eq!(behavior.criteria, Criteria::default());
}
