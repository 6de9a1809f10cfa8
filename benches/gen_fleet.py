#!/usr/bin/env python3
"""Generates the fleet project for benches/fleet_render.sh: 1 environment x
30 clusters x 50 services, 3 templates per service (Deployment, Service,
ConfigMap), local secrets with the S3 layout (10 per service, 5 per cluster
common, 10 environment common). With --releases, also a release record per
service (as `kit release` writes them, one with a cluster override), the
state of a config repository kit has released from. Idempotent.
FLEET_CLUSTERS and FLEET_SERVICES change the counts (benches/fleet_apply.sh:
8 x 10); FLEET_NAME gives the project a `name:` (an inventory per cluster) and each
cluster a namespace of its own.
Usage: gen_fleet.py DIR [--releases]"""
import os
import sys

CLUSTERS = int(os.environ.get("FLEET_CLUSTERS", 30))
SERVICES = int(os.environ.get("FLEET_SERVICES", 50))
d = sys.argv[1]


def write(path, text):
    p = os.path.join(d, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


if "--releases" in sys.argv[2:]:
    for s in range(SERVICES):
        write(f"releases/production/service-{s:02}.yaml", f"""revision: 3
image: registry.example.com/fleet/service-{s:02}:1.5.{s}
clusters:
  cluster-01: registry.example.com/fleet/service-{s:02}:1.4.9
time: "2026-11-20T10:00:00Z"
author: ci-bot
source_commit: 0123456789abcdef0123456789abcdef0123{s:04}
build_url: https://ci.example.com/builds/{s}
message: release 1.5.{s}
action: release
""")
if os.path.exists(os.path.join(d, "secrets/production/common/KIT_CHECKSUM_KEY")):
    sys.exit(0)


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{kit.service}}
  namespace: {{namespace}}
  labels:
    app.kubernetes.io/name: {{kit.service}}
    app.kubernetes.io/managed-by: kit
    kit.dev/cluster: {{kit.cluster}}
spec:
  replicas: {{replicas}}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{kit.service}}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{kit.service}}
    spec:
      containers:
        - name: app
          image: {{image.repository}}/{{kit.service}}:{{image.tag}}
          ports:
            - name: http
              containerPort: {{port}}
              protocol: TCP
          env:
          {{#env}}
            - name: {{name}}
              value: {{value}}
          {{/env}}
          resources:
            requests:
              cpu: {{resources.cpu}}
              memory: {{resources.memory}}
          readinessProbe:
            httpGet:
              path: /healthz/ready
              port: http
            initialDelaySeconds: 5
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /healthz/live
              port: http
            initialDelaySeconds: 15
            periodSeconds: 20
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: config
              mountPath: /etc/{{kit.service}}
              readOnly: true
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: config
          configMap:
            name: {{kit.service}}-config
        - name: tmp
          emptyDir: {}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    app.kubernetes.io/name: {{kit.service}}
      tolerations:
        - key: dedicated
          operator: Equal
          value: {{region}}
          effect: NoSchedule
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{kit.service}}
  namespace: {{namespace}}
spec:
  selector:
    app.kubernetes.io/name: {{kit.service}}
  ports:
    - name: http
      port: 80
      targetPort: {{port}}
      protocol: TCP
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{kit.service}}-config
  namespace: {{namespace}}
data:
  region: {{region}}
  log-level: {{log_level}}
  settings.yaml: |
    service: {{kit.service}}
    cluster: {{kit.cluster}}
    environment: {{kit.environment}}
    replicas: {{replicas}}
    http:
      port: {{port}}
      read_timeout: 30s
      write_timeout: 30s
      idle_timeout: 120s
    logging:
      level: {{log_level}}
      format: json
    features:
      - checkout
      - search
      - recommendations
    upstreams:
{{#env}}
      - {{name}}
{{/env}}
"""
lines = ([f"name: {os.environ['FLEET_NAME']}"] if os.environ.get("FLEET_NAME") else []) + ["values:", "  namespace: fleet", "  replicas: 2", "  port: 8080", "  log_level: info",
         "  image:", "    repository: registry.example.com/fleet", "    tag: \"1.0.0\"",
         "  resources:", "    cpu: 100m", "    memory: 128Mi",
         "env:", "  APP_ENV: production", "environments:", "  production:", "    clusters:"]
for c in range(CLUSTERS):
    lines += [f"      cluster-{c:02}:", f"        context: cluster-{c:02}", "        values:", f"          region: region-{c % 5}"]
    if os.environ.get("FLEET_NAME"):
        # The clusters of benches/fleet_apply.sh are one API server: each
        # its own namespace, as if each were a cluster of its own.
        lines.append(f"          namespace: fleet-{c:02}")
lines.append("services:")
for s in range(SERVICES):
    lines.append(f"  service-{s:02}: {{}}")
    write(f"templates/service-{s:02}/deployment.yaml", DEPLOYMENT)
    write(f"templates/service-{s:02}/service.yaml", SERVICE)
    write(f"templates/service-{s:02}/configmap.yaml", CONFIGMAP)
for i in range(10):
    write(f"secrets/production/common/COMMON_{i}", f"env-value-{i}")
for c in range(CLUSTERS):
    write(f"secrets/production/cluster-{c:02}/common/COMMON_0", f"cluster-{c}")
    for i in range(4):
        write(f"secrets/production/cluster-{c:02}/common/CLUSTER_{i}", f"cluster-{c}-{i}")
    for s in range(SERVICES):
        for i in range(10):
            write(f"secrets/production/cluster-{c:02}/service-{s:02}/SVC_{i}", f"secret-{c}-{s}-{i}!")
write("kit.yaml", "\n".join(lines) + "\n")
# Last: its presence tells a later run that the project is complete.
write("secrets/production/common/KIT_CHECKSUM_KEY", "fleet-bench-checksum-key-0123456789")
