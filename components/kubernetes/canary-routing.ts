/**
 * How a canary's requests are split by weight: Argo Rollouts' traffic routers that the ways in
 * the hosts give (an Ingress class's load balancer). Without one, a canary splits by pod count.
 *
 * The router sits where the clients' requests arrive. On EKS that is the ALB, which sends to the
 * pods' addresses (IP targets) in plain text: those requests never pass an Istio waypoint (a
 * waypoint sees only traffic a mesh client's ztunnel sends it), so a mesh route would split
 * nothing of what users send. Rollouts drives the AWS Load Balancer Controller natively by the
 * Ingress's action annotation: no plugin to download into the controller.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Rollouts' native traffic routers the platform drives. */
export const CANARY_ROUTERS = ["alb"] as const;
export type CanaryRouter = (typeof CANARY_ROUTERS)[number];

/** What a canary's router splits between: the root Service a way in sends to, and its two halves. */
export interface CanaryRoute {
  readonly router: CanaryRouter;
  /** The Ingress the router rewrites. */
  readonly ingressName: string;
  /** The Service the Ingress's rule names (clients' address inside the cluster too). */
  readonly rootService: string;
  /** Rollouts points this Service at the stable pods (it adds their pod-template hash). */
  readonly stableService: string;
  /** ...and this one at the canary's. */
  readonly canaryService: string;
  /** The three Services' port. */
  readonly servicePort: number;
}

/** The route for a root Service behind an Ingress: its halves are `<root>-stable` and `<root>-canary`. */
export function canaryRoute(
  router: CanaryRouter,
  ingressName: string,
  rootService: string,
  servicePort: number,
): CanaryRoute {
  return {
    router,
    ingressName,
    rootService,
    stableService: `${rootService}-stable`,
    canaryService: `${rootService}-canary`,
    servicePort,
  };
}

/** The ALB controller's per-Service action annotation, which Rollouts rewrites at each step. */
export function albActionAnnotation(service: string): string {
  return `alb.ingress.kubernetes.io/actions.${service}`;
}

/**
 * The ALB action sending `canaryPercent` to the canary and the rest to the stable Service, as
 * Rollouts v1.9 writes it (rollout/trafficrouting/alb getForwardActionString: canary first, the
 * port as a string). At rest Rollouts writes weight 0, byte for byte what the stack writes, so the
 * stack and the controller never disagree about the annotation between releases.
 */
export function albForwardAction(route: CanaryRoute, canaryPercent: number): string {
  const port = String(route.servicePort);
  return JSON.stringify({
    Type: "forward",
    ForwardConfig: {
      TargetGroups: [
        { ServiceName: route.canaryService, ServicePort: port, Weight: canaryPercent },
        { ServiceName: route.stableService, ServicePort: port, Weight: 100 - canaryPercent },
      ],
    },
  });
}

/** What the way in needs for the router: annotations to add and the backend's port by name. */
export interface RoutedBackend {
  readonly annotations: Record<string, pulumi.Input<string>>;
  readonly backendPortName: string;
}

/** The Ingress's side of the route, at rest (all to stable). */
export function routedBackend(route: CanaryRoute): RoutedBackend {
  switch (route.router) {
    case "alb":
      return {
        annotations: { [albActionAnnotation(route.rootService)]: albForwardAction(route, 0) },
        // The ALB controller then reads the rule's action from the annotation.
        backendPortName: "use-annotation",
      };
    default: {
      const unknown: never = route.router;
      throw new Error(`unknown canary router ${String(unknown)}`);
    }
  }
}

/** The Rollout's canary fields for the route (canaryService, stableService, trafficRouting). */
export function rolloutTrafficRouting(route: CanaryRoute): {
  canaryService: string;
  stableService: string;
  trafficRouting: object;
} {
  const services = { canaryService: route.canaryService, stableService: route.stableService };
  switch (route.router) {
    case "alb":
      return {
        ...services,
        trafficRouting: {
          alb: {
            ingress: route.ingressName,
            rootService: route.rootService,
            servicePort: route.servicePort,
          },
        },
      };
    default: {
      const unknown: never = route.router;
      throw new Error(`unknown canary router ${String(unknown)}`);
    }
  }
}
