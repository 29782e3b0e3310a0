/** How the Kubernetes platform's API is reached: the URL of the host's way in. */
import type * as pulumi from "@pulumi/pulumi";
import type { ApiEndpoint } from "../../components/contracts";
import {
  API_SERVICE_PORT,
  type RuntimeWorkloads,
} from "../../components/kubernetes/runtime-workloads";
import { apiEndpointAt } from "../../components/shared/runtime-image";
import type { PlatformConfig } from "../config";
import type { ClusterIngress } from "./cluster-host";

/**
 * The API's URL: through the Ingress's load balancer, or through the routes the host's Gateway
 * serves (HTTPS always); `domain.hostname` when set, with the region's own address to check.
 */
export function exposedApi(
  ingress: ClusterIngress,
  workloads: RuntimeWorkloads,
  namespace: pulumi.Input<string>,
  domain: PlatformConfig["domain"],
): ApiEndpoint {
  const hostname = domain.hostname;
  switch (ingress.kind) {
    case "ingress": {
      const scheme = domain.certificate || ingress.https ? "https" : "http";
      const regional = workloads.ingress!.status.apply((s) => {
        const lb = s?.loadBalancer?.ingress?.[0];
        const address = lb?.hostname ?? lb?.ip;
        return address
          ? `${scheme}://${address}`
          : "(pending: the ingress controller is creating the load balancer)";
      });
      return apiEndpointAt(hostname ? `${scheme}://${hostname}` : regional, regional);
    }
    case "gateway": {
      const { url } = ingress.route(
        { namespace, serviceName: workloads.serviceName, port: API_SERVICE_PORT },
        [workloads],
      );
      return apiEndpointAt(hostname ? `https://${hostname}` : url, url);
    }
    default: {
      const unreachable: never = ingress;
      throw new Error(`unknown ingress ${String(unreachable)}`);
    }
  }
}
