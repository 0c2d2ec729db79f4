//! Tests of the keypairs controller through the compute API in memory:
//! what a user sees at each microversion, and `key_name` at server create
//! and rebuild.

use serde_json::{json, Value};

use crate::keypair::tests::X509_SAMPLE;
use crate::server_actions::tests::{delete, get, post, Answer, Harness};
use crate::test_client::keys;
use crate::{Cloud, QuotaStore, DEFAULT_PROJECT, DEFAULT_USER};

/// Nova's sample key and the fingerprint Nova gives it.
const KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1HTrHCbb9NawNLSV8N6tSa8i637+EC2dA+lsdHHfQlT54t+N0nHhJPlKWDLhc579j87vp6RDFriFJ/smsTnDnf64O12z0kBaJpJPH2zXrBkZFK6q2rmxydURzX/z0yLSCP77SFJ0fdXWH2hMsAusflGyryHGX20n+mZK6mDrxVzGxEz228dwQ5G7Az5OoZDWygH2pqPvKjkifRw0jwUKf3BbkP0QvANACOk26cv16mNFpFJfI1N3OC5lUsZQtKGR01ptJoWijYKccqhkAKuo902tg/qup58J5kflNm7I61sy1mJon6SGqNUSfoQagqtBH6vd/tU1jnlwZ03uUroAL Generated-by-Nova";
const FINGERPRINT: &str = "44:fe:29:6e:23:14:b9:53:5b:65:82:58:1c:fe:5a:c3";

fn import(name: &str) -> Value {
    json!({"keypair": {"name": name, "public_key": KEY}})
}

async fn create(h: &Harness, minor: u16, body: Value) -> Answer {
    h.send(post("/os-keypairs", body).at(minor)).await
}

#[tokio::test]
async fn a_generated_key_pair_comes_with_its_private_key_once() {
    let h = Harness::new();
    let made = create(&h, 1, json!({"keypair": {"name": "gen"}})).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let keypair = &made.body["keypair"];
    assert_eq!(
        keys(keypair),
        [
            "fingerprint",
            "name",
            "private_key",
            "public_key",
            "user_id"
        ]
    );
    assert!(keypair["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert_eq!(keypair["user_id"], DEFAULT_USER);
    let shown = h.send(get("/os-keypairs/gen").at(1)).await;
    assert_eq!(shown.status, 200);
    let shown = &shown.body["keypair"];
    assert_eq!(
        keys(shown),
        [
            "created_at",
            "deleted",
            "deleted_at",
            "fingerprint",
            "id",
            "name",
            "public_key",
            "updated_at",
            "user_id"
        ]
    );
    assert_eq!(shown["public_key"], keypair["public_key"]);
    assert_eq!(
        (shown["deleted"].clone(), shown["id"].clone()),
        (json!(false), json!(1))
    );
    let created_at = shown["created_at"].as_str().unwrap();
    assert!(
        !created_at.ends_with('Z') && created_at.len() == 26,
        "{created_at}"
    );
}

#[tokio::test]
async fn type_and_the_created_and_no_content_statuses_arrive_with_2_2() {
    let h = Harness::new();
    let made = create(&h, 2, import("k")).await;
    assert_eq!(made.status, 201);
    assert_eq!(made.body["keypair"]["type"], "ssh");
    assert_eq!(made.body["keypair"]["fingerprint"], FINGERPRINT);
    assert_eq!(made.body["keypair"].get("private_key"), None);
    let listed = h.send(get("/os-keypairs").at(2)).await;
    assert_eq!(
        keys(&listed.body["keypairs"][0]["keypair"]),
        ["fingerprint", "name", "public_key", "type"]
    );
    let listed_21 = h.send(get("/os-keypairs").at(1)).await;
    assert_eq!(
        keys(&listed_21.body["keypairs"][0]["keypair"]),
        ["fingerprint", "name", "public_key"]
    );
    assert_eq!(h.send(delete("/os-keypairs/k").at(2)).await.status, 204);
    create(&h, 2, import("k")).await;
    let gone = h.send(delete("/os-keypairs/k").at(1)).await;
    assert_eq!((gone.status, gone.body.clone()), (202, Value::Null));
}

#[tokio::test]
async fn failures_answer_in_novas_words() {
    let h = Harness::new();
    create(&h, 2, import("k")).await;
    let again = create(&h, 2, import("k")).await;
    assert_eq!(
        (again.status, again.message()),
        (409, "Key pair 'k' already exists.")
    );
    let bad = create(
        &h,
        2,
        json!({"keypair": {"name": "b", "public_key": "ssh-rsa nope"}}),
    )
    .await;
    assert_eq!(
        (bad.status, bad.message()),
        (
            400,
            "Keypair data is invalid: failed to generate fingerprint"
        )
    );
    let missing = h.send(get("/os-keypairs/nope").at(2)).await;
    let expected = format!("Keypair nope not found for user {DEFAULT_USER}");
    assert_eq!(
        (missing.status, missing.message()),
        (404, expected.as_str())
    );
    let missing = h.send(delete("/os-keypairs/nope").at(2)).await;
    assert_eq!(
        (missing.status, missing.message()),
        (404, expected.as_str())
    );
    let name = create(&h, 2, json!({"keypair": {"name": "a/b"}})).await;
    assert_eq!(name.status, 400);
}

#[tokio::test]
async fn x509_certificates_are_imported_but_not_generated() {
    let h = Harness::new();
    let made = create(
        &h,
        2,
        json!({"keypair": {"name": "cert", "type": "x509", "public_key": X509_SAMPLE}}),
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(
        made.body["keypair"]["fingerprint"],
        "a1:6f:6d:ea:a6:36:d0:3a:c6:eb:b6:ee:07:94:3e:2a:90:98:2b:c9"
    );
    let generated = create(&h, 2, json!({"keypair": {"name": "c2", "type": "x509"}})).await;
    assert_eq!(generated.status, 400);
    assert!(generated
        .message()
        .starts_with("Keypair data is invalid: generating an x509 key pair is not supported"));
    let not_pem = create(
        &h,
        2,
        json!({"keypair": {"name": "c3", "type": "x509", "public_key": KEY}}),
    )
    .await;
    assert_eq!(not_pem.status, 400);
}

#[tokio::test]
async fn from_2_92_a_public_key_is_required_and_names_may_hold_at_signs_and_dots() {
    let h = Harness::new();
    let generated = create(&h, 92, json!({"keypair": {"name": "gen"}})).await;
    assert_eq!(generated.status, 400);
    assert!(generated
        .message()
        .contains("'public_key' is a required property"));
    assert_eq!(create(&h, 91, import("me@host.example")).await.status, 400);
    let made = create(&h, 92, import("me@host.example")).await;
    assert_eq!(made.status, 201);
    assert_eq!(
        h.send(get("/os-keypairs/me@host.example").at(92))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_key_pairs_quota_counts_each_users_key_pairs() {
    let mut cloud = Cloud::default();
    cloud.quota.key_pairs = 1;
    let h = Harness::with_cloud(cloud);
    assert_eq!(create(&h, 2, import("one")).await.status, 201);
    let over = create(&h, 2, import("two")).await;
    assert_eq!(
        (over.status, over.message()),
        (403, "Quota exceeded, too many key pairs.")
    );
    // Another user has a quota of their own.
    let theirs = h
        .send(
            post("/os-keypairs", import("two"))
                .at(2)
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(theirs.status, 201);
    // A limit set through the quota sets API replaces the default.
    h.store
        .set_quota_limits(DEFAULT_PROJECT.into(), None, vec![("key_pairs".into(), 3)])
        .await
        .unwrap();
    assert_eq!(create(&h, 2, import("two")).await.status, 201);
}

#[tokio::test]
async fn an_admin_names_another_user_from_2_10_and_a_member_may_not() {
    let h = Harness::new();
    let for_user = json!({"keypair": {"name": "k", "public_key": KEY, "user_id": "user"}});
    assert_eq!(create(&h, 9, for_user.clone()).await.status, 400);
    let made = create(&h, 10, for_user.clone()).await;
    assert_eq!(made.status, 201);
    assert_eq!(made.body["keypair"]["user_id"], "user");
    // The member "user" sees it as their own; the admin names them.
    let mine = h
        .send(get("/os-keypairs/k").at(10).member_of(DEFAULT_PROJECT))
        .await;
    assert_eq!(mine.status, 200);
    assert_eq!(h.send(get("/os-keypairs/k").at(10)).await.status, 404);
    assert_eq!(
        h.send(get("/os-keypairs/k?user_id=user").at(10))
            .await
            .status,
        200
    );
    let listed = h.send(get("/os-keypairs?user_id=user").at(10)).await;
    assert_eq!(listed.body["keypairs"].as_array().unwrap().len(), 1);
    // Before 2.10 the parameter is ignored.
    assert_eq!(
        h.send(get("/os-keypairs/k?user_id=user").at(9))
            .await
            .status,
        404
    );
    let refused = h
        .send(
            get("/os-keypairs?user_id=someone")
                .at(10)
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(
        (refused.status, refused.message()),
        (
            403,
            "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."
        )
    );
    let refused = h
        .send(
            post("/os-keypairs", for_user.clone())
                .at(10)
                .member_of(DEFAULT_PROJECT)
                .with_roles(&["member"]),
        )
        .await;
    assert_eq!(refused.status, 409, "the member is the user named: allowed");
    let mut other = for_user;
    other["keypair"]["user_id"] = json!("someone");
    let refused = h
        .send(
            post("/os-keypairs", other)
                .at(10)
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        h.send(delete("/os-keypairs/k?user_id=user").at(10))
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn the_listing_pages_by_name_from_2_35() {
    let h = Harness::new();
    for name in ["c", "a", "b"] {
        create(&h, 2, import(name)).await;
    }
    let names = |answer: &Answer| -> Vec<String> {
        answer.body["keypairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["keypair"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let page = h.send(get("/os-keypairs?limit=2").at(35)).await;
    assert_eq!(names(&page), ["a", "b"]);
    assert_eq!(
        page.body["keypairs_links"],
        json!([{"rel": "next", "href": "http://localhost/os-keypairs?limit=2&marker=b"}])
    );
    let next = h.send(get("/os-keypairs?limit=2&marker=b").at(35)).await;
    assert_eq!(names(&next), ["c"]);
    assert_eq!(next.body.get("keypairs_links"), None);
    let unknown = h.send(get("/os-keypairs?marker=zz").at(35)).await;
    assert_eq!(
        (unknown.status, unknown.message()),
        (400, "Marker zz could not be found.")
    );
    // Before 2.35 the parameters are ignored; from 2.75 others refused.
    assert_eq!(
        names(&h.send(get("/os-keypairs?limit=1").at(34)).await).len(),
        3
    );
    assert_eq!(h.send(get("/os-keypairs?foo=1").at(74)).await.status, 200);
    assert_eq!(h.send(get("/os-keypairs?foo=1").at(75)).await.status, 400);
}

#[tokio::test]
async fn a_server_is_created_and_rebuilt_with_a_key_pair_of_its_user_only() {
    let h = Harness::new();
    create(&h, 2, import("mine")).await;
    let server = |key: &str| {
        json!({"server": {"name": "s", "flavorRef": "1",
            "imageRef": crate::Image::CIRROS_ID.to_string(), "key_name": key}})
    };
    let refused = h.send(post("/servers", server("missing")).at(2)).await;
    assert_eq!(
        (refused.status, refused.message()),
        (400, "Invalid key_name provided.")
    );
    // Another user's key pair is not the caller's.
    let theirs = h
        .send(
            post("/servers", server("mine"))
                .at(2)
                .member_of(DEFAULT_PROJECT),
        )
        .await;
    assert_eq!(theirs.status, 400);
    let made = h.send(post("/servers", server("mine")).at(2)).await;
    assert_eq!(made.status, 202, "{:?}", made.body);
    let id = made.body["server"]["id"].as_str().unwrap().to_owned();
    let shown = h.send(get(&format!("/servers/{id}")).at(2)).await;
    assert_eq!(shown.body["server"]["key_name"], "mine");
    assert_eq!(shown.body["server"].get("key_data"), None);
    h.advance(5);
    let rebuild = |key: &str| json!({"rebuild": {"imageRef": crate::Image::CIRROS_ID.to_string(), "key_name": key}});
    let refused = h
        .send(post(&format!("/servers/{id}/action"), rebuild("missing")).at(54))
        .await;
    assert_eq!(
        (refused.status, refused.message()),
        (400, "Invalid key_name provided.")
    );
    // An unknown server is not found, whatever the key: Nova looks the
    // server up first.
    let unknown = h
        .send(
            post(
                "/servers/8b5a1d2e-1111-4c4c-9d9d-0123456789ab/action",
                rebuild("missing"),
            )
            .at(54),
        )
        .await;
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    create(&h, 2, import("other")).await;
    let rebuilt = h
        .send(post(&format!("/servers/{id}/action"), rebuild("other")).at(54))
        .await;
    assert_eq!(rebuilt.status, 202, "{:?}", rebuilt.body);
    assert_eq!(rebuilt.body["server"]["key_name"], "other");
}
