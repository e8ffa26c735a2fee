"""The official Kubernetes Python client against `cox server`.

Run by tests/integration/python_client.rs with KUBECONFIG set; every check raises on failure.
Covers list/watch, create/patch/delete, a watch resumed from its last resourceVersion after the
server restarts (when COX_RESTART_FILE names a file: the script writes it and waits for the test
harness to restart the server), and Kubernetes' error Status as the client surfaces it.
"""

import json
import os
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NAMESPACE = "python-suite"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    namespaces = [item.metadata.name for item in core.list_namespace().items]
    check(NAMESPACE in namespaces and "kube-system" in namespaces, f"namespaces: {namespaces}")

    # create, read back, patch (strategic merge by default for typed objects), delete.
    created = core.create_namespaced_config_map(
        NAMESPACE,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "suite"}), data={"mode": "a"}),
    )
    check(created.metadata.resource_version, "a created object carries a resourceVersion")
    patched = core.patch_namespaced_config_map("settings", NAMESPACE, {"data": {"mode": "b", "extra": "1"}})
    check(patched.data == {"mode": "b", "extra": "1"}, f"patched data: {patched.data}")
    listed = core.list_namespaced_config_map(NAMESPACE, label_selector="app=suite")
    check([item.metadata.name for item in listed.items] == ["settings"], "label selector")

    try:
        core.read_namespaced_config_map("nosuch", NAMESPACE)
        raise AssertionError("reading a missing object must fail")
    except ApiException as error:
        check(error.status == 404, f"status {error.status}")
        status = json.loads(error.body)
        check(status["message"] == 'configmaps "nosuch" not found' and status["reason"] == "NotFound", error.body)

    # A Deployment through the typed apps client: the controllers and scheduler take it from there.
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="nginx", image="nginx:1.27")]),
            ),
        ),
    )
    apps.create_namespaced_deployment(NAMESPACE, deployment)

    # watch: list, then watch from the list's resourceVersion and see ADDED, MODIFIED, DELETED.
    start = core.list_namespaced_config_map(NAMESPACE).metadata.resource_version
    seen = []

    def writer():
        time.sleep(0.5)
        core.create_namespaced_config_map(NAMESPACE, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched")))
        core.patch_namespaced_config_map("watched", NAMESPACE, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("watched", NAMESPACE)

    threading.Thread(target=writer).start()
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_config_map, NAMESPACE, resource_version=start, timeout_seconds=30
    ):
        if event["object"].metadata.name == "watched":
            seen.append(event["type"])
        if event["type"] == "DELETED":
            stream.stop()
    check(seen == ["ADDED", "MODIFIED", "DELETED"], f"watch events: {seen}")

    restart_file = os.environ.get("COX_RESTART_FILE")
    if restart_file:
        watch_across_restart(core, restart_file)

    ready = 0
    for _ in range(600):
        status = apps.read_namespaced_deployment_status("web", NAMESPACE).status
        ready = status.ready_replicas or 0
        if ready == 2:
            break
        time.sleep(0.1)
    check(ready == 2, f"deployment ready replicas: {ready}")

    core.delete_namespaced_config_map("settings", NAMESPACE)
    try:
        core.read_namespaced_config_map("settings", NAMESPACE)
        raise AssertionError("a deleted object must be gone")
    except ApiException as error:
        check(error.status == 404, f"status {error.status}")
    print("python client suite passed")


def watch_across_restart(core, restart_file):
    """A watch from a resourceVersion; the server restarts; the client watches again from the
    last resourceVersion it saw, as an informer does, and misses nothing written meanwhile."""
    last = core.list_namespaced_config_map(NAMESPACE).metadata.resource_version
    core.create_namespaced_config_map(NAMESPACE, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="before-restart")))
    names = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, NAMESPACE, resource_version=last, timeout_seconds=5):
        names.append(event["object"].metadata.name)
        last = event["object"].metadata.resource_version
        if event["object"].metadata.name == "before-restart":
            break
    check(names[-1:] == ["before-restart"], f"before the restart: {names}")
    with open(restart_file, "w") as marker:
        marker.write(last)
    # The harness restarts the server and writes "after-restart" meanwhile.
    deadline = time.time() + 60
    while os.path.exists(restart_file):
        check(time.time() < deadline, "the harness did not restart the server")
        time.sleep(0.1)
    resumed = []
    while time.time() < deadline and "after-restart" not in resumed:
        try:
            for event in watch.Watch().stream(
                core.list_namespaced_config_map, NAMESPACE, resource_version=last, timeout_seconds=5
            ):
                resumed.append(event["object"].metadata.name)
                last = event["object"].metadata.resource_version
                if event["object"].metadata.name == "after-restart":
                    break
        except Exception:  # the server is still coming back: retry, as an informer does
            time.sleep(0.2)
    check("after-restart" in resumed, f"after the restart: {resumed}")
    check("before-restart" not in resumed, "the resumed watch starts after the last event seen")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # print the failure for the Rust harness, then fail
        print(f"python client suite failed: {error!r}", file=sys.stderr)
        raise
