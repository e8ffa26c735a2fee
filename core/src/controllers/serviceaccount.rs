//! The ServiceAccount controller: every active namespace has a `default` ServiceAccount, created
//! again if it is deleted (Kubernetes' `ServiceAccountsController.syncNamespace`).

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::action::{Action, Reconciled, to_object};

/// The ServiceAccount every namespace gets, and pods use when they name none.
pub const DEFAULT_SERVICE_ACCOUNT_NAME: &str = "default";

/// Reconciles one namespace against the ServiceAccounts observed in it: creates `default` when
/// it is missing and the namespace is Active (a Terminating namespace would refuse it anyway).
pub fn reconcile_service_accounts(namespace: &Namespace, service_accounts: &[ServiceAccount]) -> Reconciled {
    let mut reconciled = Reconciled::default();
    let phase = namespace.status.as_ref().and_then(|status| status.phase.as_deref());
    if phase != Some("Active") || namespace.metadata.deletion_timestamp.is_some() {
        return reconciled;
    }
    let name = namespace.metadata.name.as_deref().unwrap_or("");
    let exists = service_accounts.iter().any(|account| {
        account.metadata.namespace.as_deref() == Some(name)
            && account.metadata.name.as_deref() == Some(DEFAULT_SERVICE_ACCOUNT_NAME)
    });
    if !exists {
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT_SERVICE_ACCOUNT_NAME.to_string()),
                namespace: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        reconciled.push_alone(Action::Create { object: to_object(&account), on_created: None });
    }
    reconciled
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NamespaceStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    use super::*;
    use crate::api::{ApiRequest, ApiServer, Method};
    use crate::controllers::test_world::{apply, now, observe, send};
    use crate::store::MemoryStore;

    fn namespace(phase: &str) -> Namespace {
        Namespace {
            metadata: ObjectMeta { name: Some("ns".to_string()), ..ObjectMeta::default() },
            spec: None,
            status: Some(NamespaceStatus { phase: Some(phase.to_string()), conditions: None }),
        }
    }

    fn account(name: &str) -> ServiceAccount {
        ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("ns".to_string()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        }
    }

    /// The names of the ServiceAccounts the reconcile creates.
    fn created(namespace: &Namespace, existing: &[ServiceAccount]) -> Vec<String> {
        let reconciled = reconcile_service_accounts(namespace, existing);
        reconciled
            .actions
            .iter()
            .map(|action| match action {
                Action::Create { object, .. } => format!("{}/{}", object.namespace(), object.name()),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_default_service_account_is_ensured_as_kubernetes_does() {
        // Rows of TestServiceAccountCreation: the namespace's phase and the accounts that
        // exist (after an add, update or delete) decide whether `default` is created.
        let mut deleted_with_namespace = namespace("Active");
        deleted_with_namespace.metadata.deletion_timestamp = Some(Time(now()));
        let cases: [(&str, Namespace, Vec<ServiceAccount>, &[&str]); 7] = [
            ("new active namespace missing serviceaccounts", namespace("Active"), vec![], &["ns/default"]),
            ("new active namespace with serviceaccounts", namespace("Active"), vec![account("default")], &[]),
            ("new terminating namespace", namespace("Terminating"), vec![], &[]),
            ("deleted serviceaccount with active namespace", namespace("Active"), vec![], &["ns/default"]),
            (
                "deleted unmanaged serviceaccount with active namespace",
                namespace("Active"),
                vec![account("default")],
                &[],
            ),
            (
                "added unmanaged serviceaccount with active namespace",
                namespace("Active"),
                vec![account("other")],
                &["ns/default"],
            ),
            ("namespace marked for deletion", deleted_with_namespace, vec![], &[]),
        ];
        for (name, namespace, existing, expected) in cases {
            assert_eq!(created(&namespace, &existing), expected, "{name}");
        }
    }

    #[test]
    fn a_deleted_default_service_account_comes_back_through_the_api_server() {
        let mut server = ApiServer::new(MemoryStore::new(), 7);
        server.bootstrap(now()).unwrap();
        let ensure = |server: &mut ApiServer<MemoryStore>| {
            let objects = observe(server);
            let accounts: Vec<ServiceAccount> =
                objects.iter().filter(|o| o.kind == "ServiceAccount").map(|o| o.to_typed().unwrap()).collect();
            for namespace in objects.iter().filter(|o| o.kind == "Namespace") {
                let reconciled = reconcile_service_accounts(&namespace.to_typed().unwrap(), &accounts);
                assert!(apply(server, &reconciled).iter().all(|status| *status == 201));
            }
        };
        ensure(&mut server);
        let path = "/api/v1/namespaces/kube-system/serviceaccounts/default";
        assert_eq!(send(&mut server, ApiRequest::new(Method::Get, path)).0, 200);
        assert_eq!(send(&mut server, ApiRequest::new(Method::Delete, path)).0, 200);
        ensure(&mut server);
        assert_eq!(send(&mut server, ApiRequest::new(Method::Get, path)).0, 200);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let (status, body) =
            send(&mut server, ApiRequest::new(Method::Post, "/api/v1/namespaces/default/pods").with_json(&pod));
        assert_eq!((status, body["spec"]["serviceAccountName"].as_str()), (201, Some("default")));
    }
}
