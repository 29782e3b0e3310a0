/**
 * Compliant and violating cases for the Kubernetes rules that judge host access, capabilities,
 * RBAC escalation, NodePort Services and plain-HTTP Ingresses (@pulumi/kubernetes shapes).
 */
import type { ResourceView } from "../../policies/rules/types";
import type { RuleCase } from "./cases";
import { deployment, res, withContainer } from "./fixtures";

const one = (r: ResourceView) => [r];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Pod = Record<string, any>;
/** A Deployment whose pod spec is changed by `change`. */
const withPod = (change: (pod: Pod) => void) =>
  deployment((p) => {
    change(p);
    return p;
  });
const hostPath = (path: unknown) =>
  withPod((p) => {
    p.volumes = [{ name: "host", hostPath: { path } }];
    p.containers[0].volumeMounts = [{ name: "host", mountPath: "/host" }];
  });
const adding = (...add: string[]) =>
  deployment(withContainer((c) => (c.securityContext.capabilities = { drop: ["ALL"], add })));

const RBAC = "kubernetes:rbac.authorization.k8s.io/v1";
const role = (...rules: Record<string, unknown>[]) => res(`${RBAC}:Role`, { rules });
const clusterRole = (...rules: Record<string, unknown>[]) => res(`${RBAC}:ClusterRole`, { rules });
const READS_PODS = { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] };
const EVERYTHING = { apiGroups: ["*"], resources: ["*"], verbs: ["*"] };
const binding = (type: "RoleBinding" | "ClusterRoleBinding", kind: string, name: string) =>
  res(`${RBAC}:${type}`, {
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name },
    subjects: [{ kind: "ServiceAccount", name: "s", namespace: "rag" }],
  });

const APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application";
/** An AppProject scoped as the platform's, with `spec` changed. */
const appProject = (spec: Record<string, unknown>) =>
  res("kubernetes:argoproj.io/v1alpha1:AppProject", {
    spec: {
      sourceRepos: ["https://github.com/acme/rag-environments"],
      destinations: [{ server: "https://kubernetes.default.svc", namespace: "rag" }],
      clusterResourceWhitelist: [],
      ...spec,
    },
  });
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const rules = [{ host: "rag.example.com", http: { paths: [{ path: "/", pathType: "Prefix" }] } }];
const ingress = (
  ingressClassName: string,
  annotations: Record<string, string> = {},
  tls?: unknown[],
) =>
  res(INGRESS, {
    metadata: { name: "api", annotations },
    spec: { ingressClassName, rules, ...(tls ? { tls } : {}) },
  });
const TLS = [{ hosts: ["rag.example.com"], secretName: "rag-tls" }];
const ALB_HTTPS = {
  "alb.ingress.kubernetes.io/scheme": "internet-facing",
  "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
  "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:x",
  "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
};
/** A Traefik release serving the `traefik` class; `ports` and `service` as the chart takes them. */
const traefik = (ports: Record<string, unknown>, service: Record<string, unknown> = {}) =>
  res("kubernetes:helm.sh/v3:Release", {
    chart: "traefik",
    version: "41.3.0",
    values: { ingressClass: { enabled: true, name: "traefik" }, ports, service },
  });
const TRAEFIK_TLS_ONLY = {
  web: { port: 8000, expose: { default: false } },
  websecure: { port: 8443, expose: { default: true }, http: { tls: { enabled: true } } },
};
const TRAEFIK_PLAIN = {
  web: { port: 8000, expose: { default: true } },
  websecure: { port: 8443, expose: { default: false } },
};
const AZURE_INTERNAL = {
  annotations: { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" },
  spec: { type: "LoadBalancer" },
};
const configMap = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  res("kubernetes:core/v1:ConfigMap", { metadata: { name: "app" }, data, ...extra });

export const KUBERNETES_CASES: Record<string, RuleCase> = {
  // pod security: the host
  "k8s-no-host-pid": {
    compliant: [deployment(), withPod((p) => (p.hostPID = false))],
    violating: {
      "host PID namespace": one(withPod((p) => (p.hostPID = true))),
      "a secret hostPID": one(withPod((p) => (p.hostPID = "[secret]"))),
    },
  },
  "k8s-no-host-ipc": {
    compliant: one(deployment()),
    violating: { "host IPC namespace": one(withPod((p) => (p.hostIPC = true))) },
  },
  "k8s-no-host-network": {
    compliant: one(deployment()),
    violating: {
      "host network": one(withPod((p) => (p.hostNetwork = true))),
      "as a string": one(withPod((p) => (p.hostNetwork = "true"))),
    },
  },
  "k8s-no-host-port": {
    compliant: one(deployment(withContainer((c) => (c.ports = [{ containerPort: 8080 }])))),
    violating: {
      "a host port": one(
        deployment(withContainer((c) => (c.ports = [{ containerPort: 8080, hostPort: 8080 }]))),
      ),
      "an init container's host port": one(
        withPod((p) => (p.initContainers = [{ ...p.containers[0], ports: [{ hostPort: 53 }] }])),
      ),
    },
  },
  "k8s-no-host-path": {
    compliant: [
      deployment(),
      withPod((p) => (p.volumes = [{ name: "tmp", emptyDir: {} }])),
      res("kubernetes:core/v1:PersistentVolume", { spec: { csi: { driver: "ebs.csi.aws.com" } } }),
    ],
    violating: {
      "a host directory": one(hostPath("/var/log")),
      "a persistent volume on the host": one(
        res("kubernetes:core/v1:PersistentVolume", { spec: { hostPath: { path: "/data" } } }),
      ),
      "volumes that cannot be read": one(withPod((p) => (p.volumes = "[secret]"))),
    },
  },
  "k8s-no-container-runtime-socket": {
    compliant: [deployment(), hostPath("/var/log/pods")],
    violating: {
      "docker.sock": one(hostPath("/var/run/docker.sock")),
      "containerd.sock": one(hostPath("/run/containerd/containerd.sock")),
      "crio.sock": one(hostPath("/var/run/crio/crio.sock")),
      "the directory holding the sockets": one(hostPath("/var/run/")),
      "the host's root": one(hostPath("/")),
      "a path that cannot be read": one(hostPath("[secret]")),
      "a persistent volume on the socket": one(
        res("kubernetes:core/v1:PersistentVolume", {
          spec: { hostPath: { path: "/run/containerd/containerd.sock" } },
        }),
      ),
    },
  },
  "k8s-no-added-capabilities": {
    compliant: one(deployment()),
    violating: {
      "NET_ADMIN added beside drop ALL": one(adding("NET_ADMIN")),
      "NET_BIND_SERVICE added": one(adding("NET_BIND_SERVICE")),
      "add that cannot be read": one(
        deployment(
          withContainer(
            (c) => (c.securityContext.capabilities = { drop: ["ALL"], add: "[secret]" }),
          ),
        ),
      ),
    },
  },
  "k8s-no-sys-admin-capability": {
    compliant: [deployment(), adding("NET_BIND_SERVICE")],
    violating: {
      SYS_ADMIN: one(adding("SYS_ADMIN")),
      CAP_SYS_ADMIN: one(adding("cap_sys_admin")),
      "every capability": one(adding("ALL")),
    },
  },

  // access: RBAC
  "k8s-rbac-no-escalate": {
    compliant: [role(READS_PODS), clusterRole({ ...READS_PODS, verbs: ["*"] })],
    violating: {
      "escalate on roles": one(
        clusterRole({
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["clusterroles"],
          verbs: ["escalate"],
        }),
      ),
      "every verb on every resource": one(role(EVERYTHING)),
      "rules that cannot be read": one(res(`${RBAC}:ClusterRole`, { rules: "[secret]" })),
    },
  },
  "k8s-rbac-no-bind": {
    compliant: one(role(READS_PODS)),
    violating: {
      "bind on roles": one(
        role({ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["bind"] }),
      ),
      "every verb on RBAC": one(
        clusterRole({ apiGroups: ["rbac.authorization.k8s.io"], resources: ["*"], verbs: ["*"] }),
      ),
    },
  },
  "k8s-rbac-no-impersonate": {
    compliant: one(
      clusterRole({ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get"] }),
    ),
    violating: {
      "impersonate service accounts": one(
        clusterRole({ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }),
      ),
      "impersonate users in a v1beta1 role": one(
        res("kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRole", {
          rules: [{ apiGroups: [""], resources: ["users", "groups"], verbs: ["impersonate"] }],
        }),
      ),
    },
  },
  "k8s-rbac-no-csr-approval": {
    compliant: one(
      clusterRole({
        apiGroups: ["certificates.k8s.io"],
        resources: ["certificatesigningrequests"],
        verbs: ["create", "get"],
      }),
    ),
    violating: {
      "approve on signers": one(
        clusterRole({
          apiGroups: ["certificates.k8s.io"],
          resources: ["signers"],
          verbs: ["approve"],
        }),
      ),
      "update the approval": one(
        clusterRole({
          apiGroups: ["certificates.k8s.io"],
          resources: ["certificatesigningrequests/approval"],
          verbs: ["update"],
        }),
      ),
    },
  },
  "k8s-rbac-no-webhook-writes": {
    compliant: one(
      clusterRole({
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
        verbs: ["get", "list", "watch"],
      }),
    ),
    violating: {
      "patch mutating webhooks": one(
        clusterRole({
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          verbs: ["patch"],
        }),
      ),
      "create validating webhooks in a list": one(
        res(`${RBAC}:ClusterRoleList`, {
          items: [
            {
              rules: [
                {
                  apiGroups: ["*"],
                  resources: ["validatingwebhookconfigurations"],
                  verbs: ["create"],
                },
              ],
            },
          ],
        }),
      ),
    },
  },
  "k8s-rbac-no-admin-edit-binding": {
    compliant: [
      binding("RoleBinding", "Role", "metrics-scraper"),
      binding("RoleBinding", "Role", "edit"),
      binding("ClusterRoleBinding", "ClusterRole", "view"),
    ],
    violating: {
      "edit in a namespace": one(binding("RoleBinding", "ClusterRole", "edit")),
      "admin cluster-wide": one(binding("ClusterRoleBinding", "ClusterRole", "admin")),
      "a roleRef that cannot be read": one(
        res(`${RBAC}:RoleBinding`, { roleRef: "[secret]", subjects: [] }),
      ),
    },
  },
  "k8s-argocd-project-scoped": {
    compliant: [
      appProject({}),
      res(APPLICATION, { spec: { project: "rag-platform", source: {}, destination: {} } }),
    ],
    compliantAlso: {
      "a repository pattern and a named cluster-scoped kind": [
        appProject({
          sourceRepos: ["https://github.com/acme/*"],
          clusterResourceWhitelist: [{ group: "", kind: "Namespace" }],
        }),
      ],
    },
    violating: {
      "any repository": one(appProject({ sourceRepos: ["*"] })),
      "no repository": one(appProject({ sourceRepos: [] })),
      "any namespace": one(
        appProject({
          destinations: [{ server: "https://kubernetes.default.svc", namespace: "*" }],
        }),
      ),
      "no namespace named": one(
        appProject({ destinations: [{ server: "https://kubernetes.default.svc" }] }),
      ),
      "any cluster": one(appProject({ destinations: [{ server: "*", namespace: "rag" }] })),
      "every cluster-scoped kind": one(
        appProject({ clusterResourceWhitelist: [{ group: "*", kind: "*" }] }),
      ),
      "repositories that cannot be read": one(appProject({ sourceRepos: "[secret]" })),
      "an Application in the default project": one(
        res(APPLICATION, { spec: { project: "default", source: {}, destination: {} } }),
      ),
      "an Application naming no project": one(res(APPLICATION, { spec: { source: {} } })),
    },
  },

  // exposure
  "k8s-no-node-port-service": {
    compliant: [
      res("kubernetes:core/v1:Service", { spec: { type: "ClusterIP", ports: [{ port: 80 }] } }),
      res("kubernetes:core/v1:Service", { spec: { ports: [{ port: 80 }] } }),
    ],
    violating: {
      NodePort: one(
        res("kubernetes:core/v1:Service", {
          spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] },
        }),
      ),
      "a patch to NodePort": one(
        res("kubernetes:core/v1:ServicePatch", { spec: { type: "NodePort" } }),
      ),
    },
  },

  // transit
  "k8s-ingress-https-only": {
    compliant: [
      ingress("alb", ALB_HTTPS),
      ingress("alb", {
        "alb.ingress.kubernetes.io/scheme": "internal",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80}]',
      }),
      ingress("gce-internal"),
      traefik(TRAEFIK_PLAIN, AZURE_INTERNAL),
      ingress("traefik"),
      ingress("nginx", {}, TLS),
    ],
    violating: {
      "public HTTP": one(
        ingress("alb", { ...ALB_HTTPS, "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80}]' }),
      ),
      "no certificate": one(
        ingress("alb", { ...ALB_HTTPS, "alb.ingress.kubernetes.io/certificate-arn": "" }),
      ),
      "an old TLS policy": one(
        ingress("alb", {
          ...ALB_HTTPS,
          "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-2016-08",
        }),
      ),
      "nginx on HTTP, not shown private": one(ingress("nginx")),
      "an ALB on HTTP whose scheme is hidden": one(
        ingress("alb", { "alb.ingress.kubernetes.io/scheme": "[secret]" }),
      ),
      "a v1beta1 Ingress on HTTP, not shown private": one(
        res("kubernetes:networking.k8s.io/v1beta1:Ingress", {
          spec: { ingressClassName: "nginx", rules },
        }),
      ),
      "Traefik on HTTP behind a public load balancer": [
        traefik(TRAEFIK_PLAIN, { spec: { type: "LoadBalancer" } }),
        ingress("traefik"),
      ],
    },
  },
  "k8s-ingress-tls": {
    compliant: [
      ingress("nginx", {}, TLS),
      ingress("alb", ALB_HTTPS),
      ingress("gce", { "kubernetes.io/ingress.allow-http": "false" }, TLS),
      traefik(TRAEFIK_TLS_ONLY),
      ingress("traefik"),
    ],
    violating: {
      "no TLS section": one(ingress("nginx")),
      "TLS with the redirect turned off": one(
        ingress("nginx", { "nginx.ingress.kubernetes.io/ssl-redirect": "false" }, TLS),
      ),
      "GCE allowing HTTP beside TLS": one(ingress("gce", {}, TLS)),
      "an ALB listening on HTTP": one(
        ingress("alb", {
          ...ALB_HTTPS,
          "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]',
        }),
      ),
      "an internal ALB on HTTP": one(
        ingress("alb", { "alb.ingress.kubernetes.io/scheme": "internal" }),
      ),
      "Traefik's plain entry point": [traefik(TRAEFIK_PLAIN, AZURE_INTERNAL), ingress("traefik")],
      "a router on Traefik's web entry point": [
        traefik({ ...TRAEFIK_TLS_ONLY, web: { port: 8000, expose: { default: true } } }),
        ingress("traefik", { "traefik.ingress.kubernetes.io/router.entrypoints": "web" }),
      ],
      "no class and no TLS": one(res(INGRESS, { spec: { rules } })),
    },
  },

  // secrets
  "no-secret-in-configmap": {
    compliant: [
      configMap({ LOG_LEVEL: "info" }),
      configMap({
        "application.properties":
          "server.port=8080\nspring.datasource.password=${DB_PASSWORD}\n# token=see the vault\n",
        ".env": "LOG_LEVEL=info\nDB_PASSWORD_FILE=/run/secrets/db\n",
        "config.json": JSON.stringify({ auth: { tokenTtlSeconds: 3600, password: "" } }),
        "values.yaml": "auth:\n  enabled: true\n  passwordSecretName: app-auth\n",
      }),
    ],
    violating: {
      "api key": one(configMap({ OPENAI_API_KEY: "sk-abcdefghijklmnopqrstuvwxyz" })),
      "a password in application.properties": one(
        configMap({ "application.properties": "spring.datasource.password=hunter2\n" }),
      ),
      "a key in a .env file": one(
        configMap({ ".env": "LOG_LEVEL=info\nexport API_KEY='abc123def456'\n" }),
      ),
      "a token in JSON": one(configMap({ "config.json": '{"slack": {"token": "xoxb-1-2-3"}}' })),
      "a secret in YAML": one(
        configMap({ "values.yaml": "auth:\n  clientSecret: s3cr3t-value\n" }),
      ),
      "a number as a password in YAML": one(configMap({ "db.yaml": "db:\n  password: 123456\n" })),
      "binary data": one(configMap({}, { binaryData: { keystore: "AAECAw==" } })),
      "data that cannot be read": one(configMap("[secret]" as never)),
    },
  },
};
