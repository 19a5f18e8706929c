"""ACME's own controls. They run beside the built-in suites, on the same objects, and appear
in every report (JSON, JUnit, SARIF, HTML, Allure), in waivers, gates and --k8s-list-controls
exactly like the built-in ones."""

from __future__ import annotations

import re

import pytest

from pytest_k8shardening import Finding, K8sObject, Workload, assert_compliant, control

HOURS = re.compile(r"^(\d+)h$")


@control("acme.ingress.tls", title="Ingresses serve TLS for every host", severity="high",
         category="network", frameworks=["org"], remediation="Add spec.tls with every host of spec.rules.")
@pytest.mark.k8s_select(kinds=["Ingress"])
def test_ingress_tls(k8s_object: K8sObject) -> None:
    """Plain HTTP exposes sessions and credentials to anyone on the path."""
    spec = k8s_object.raw.get("spec") or {}
    hosts = {r.get("host") for r in spec.get("rules") or () if r.get("host")}
    covered = {h for t in spec.get("tls") or () for h in t.get("hosts") or ()}
    assert_compliant([Finding(f"host {h} is served without TLS", "spec.tls") for h in sorted(hosts - covered)])


@control("acme.certificates.lifetime", title="Certificates live at most 90 days and renew early",
         severity="medium", category="network", frameworks=["org"],
         remediation="Set spec.duration to 2160h (90 days) or less, and spec.renewBefore.")
@pytest.mark.k8s_select(kinds=["Certificate"], empty_reason="no cert-manager Certificates in scope")
def test_certificate_lifetime(k8s_object: K8sObject) -> None:
    """Short-lived certificates limit what a stolen key is worth (cert-manager custom resource)."""
    spec = k8s_object.raw.get("spec") or {}
    findings = []
    m = HOURS.match(str(spec.get("duration", "2160h")))
    if m and int(m.group(1)) > 2160:
        findings.append(Finding(f"spec.duration={spec['duration']} is longer than 90 days", "spec.duration"))
    if not spec.get("renewBefore"):
        findings.append(Finding("spec.renewBefore is not set", "spec.renewBefore"))
    assert_compliant(findings)


@control("acme.services.no-node-ports", title="Services are not exposed on node ports", severity="medium",
         category="network", frameworks=["org"],
         remediation="Use a ClusterIP Service behind the Ingress controller instead of NodePort.")
@pytest.mark.k8s_select(kinds=["Service"])
def test_no_node_ports(k8s_object: K8sObject) -> None:
    """Node ports open every node's firewall for the service, outside our ingress controls."""
    kind = (k8s_object.raw.get("spec") or {}).get("type", "ClusterIP")
    findings = [Finding(f"spec.type={kind} opens a port on every node", "spec.type")] if kind == "NodePort" else []
    assert_compliant(findings)


@control("acme.workloads.known-team", title="Workloads belong to a known team", severity="low",
         category="metadata", frameworks=["org"],
         remediation="Set metadata.labels.team to one of ACME's teams.")
def test_known_team(k8s_workload: Workload, acme_teams: dict[str, str]) -> None:
    """Every workload needs a team that answers its pages."""
    team = k8s_workload.obj.labels.get("team")
    if team is None:
        pytest.skip("no team label: org.metadata.required-labels reports that")
    assert_compliant([] if team in acme_teams else
                     [Finding(f"team {team!r} is not one of {', '.join(sorted(acme_teams))}", "metadata.labels.team")])
