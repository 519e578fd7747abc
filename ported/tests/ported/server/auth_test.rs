//! Ports of `server/auth_test.go` that need only users and permissions (no accounts, TLS,
//! proxies or callouts): copies of a user are equal and independent.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::auth::{Permissions, SubjectPermission, User};
use ported::port;

port!("server/auth_test.go::TestUserCloneNilPermissions" => user_clone_nil_permissions);
fn user_clone_nil_permissions() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: None,
        account: String::new(),
    };
    let mut clone = user.clone();
    assert_eq!(user, clone, "Cloned Users are incorrect");
    clone.password = "baz".into();
    assert_ne!(user, clone, "Expected Users to be different");
}

port!("server/auth_test.go::TestUserClone" => user_clone);
fn user_clone() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: Some(Permissions {
            publish: Some(SubjectPermission {
                allow: Some(vec!["foo".into()]),
                deny: None,
            }),
            subscribe: Some(SubjectPermission {
                allow: Some(vec!["bar".into()]),
                deny: None,
            }),
            response: None,
        }),
        account: String::new(),
    };
    let mut clone = user.clone();
    assert_eq!(user, clone, "Cloned Users are incorrect");
    clone
        .permissions
        .as_mut()
        .unwrap()
        .subscribe
        .as_mut()
        .unwrap()
        .allow = Some(vec!["baz".into()]);
    assert_ne!(user, clone, "Expected Users to be different");
}

port!("server/auth_test.go::TestUserClonePermissionsNoLists" => user_clone_permissions_no_lists);
fn user_clone_permissions_no_lists() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: Some(Permissions::default()),
        account: String::new(),
    };
    let clone = user.clone();
    let p = clone.permissions.as_ref().unwrap();
    assert!(
        p.publish.is_none(),
        "Expected Publish to be nil, got: {:?}",
        p.publish
    );
    assert!(
        p.subscribe.is_none(),
        "Expected Subscribe to be nil, got: {:?}",
        p.subscribe
    );
}

port!("server/auth_test.go::TestUserCloneNoPermissions" => user_clone_no_permissions);
fn user_clone_no_permissions() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: None,
        account: String::new(),
    };
    let clone = user.clone();
    assert!(
        clone.permissions.is_none(),
        "Expected Permissions to be nil, got: {:?}",
        clone.permissions
    );
}

port!("server/auth_test.go::TestUserCloneNil" => user_clone_nil);
fn user_clone_nil() {
    let user: Option<User> = None;
    let clone = user.clone();
    assert!(clone.is_none(), "Expected nil, got: {clone:?}");
}
