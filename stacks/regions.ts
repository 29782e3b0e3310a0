/**
 * Regions. A platform is built for one region, with that region's providers. A stack naming
 * several regions composes one platform per region, and every resource name then carries the
 * region's short code (`rag-enterprise-euw1-postgres`); a single-region stack keeps its names.
 */
import type { Cloud, ConfigInput, PlatformConfig } from "./config";

/** Where one platform is built: its region and the prefix of every name it gives. */
export interface RegionSite {
  /** The cloud's region name (`eu-west-1`, `westeurope`, `europe-west1`); `local` on Docker. */
  readonly region: string;
  /** The short code in names (`euw1`, `weu`). */
  readonly code: string;
  /** The prefix of every resource name: `rag-<tier>`, or `rag-<tier>-<code>` with several regions. */
  readonly prefix: string;
  /** The first region: where writes and ingest start. */
  readonly primary: boolean;
  /**
   * Where the stack's replicated-from resources live (the multi-region key's primary, the
   * secrets, the global database's entry, the account's trail): `enterprise.homeRegion`, or the
   * first region. Unlike `primary`, it stays when a failover reorders the regions.
   */
  readonly home: boolean;
  /**
   * Prefix for the names a single-region stack leaves bare (Helm releases, synced secrets: their
   * names inside the cluster), so several clusters fit in one stack. Undefined with one region.
   */
  readonly namePrefix: string | undefined;
}

const DIRECTIONS: Readonly<Record<string, string>> = {
  north: "n",
  south: "s",
  east: "e",
  west: "w",
  central: "c",
  northeast: "ne",
  northwest: "nw",
  southeast: "se",
  southwest: "sw",
};

const GCP_GEOGRAPHIES: Readonly<Record<string, string>> = {
  africa: "af",
  asia: "as",
  australia: "au",
  europe: "eu",
  me: "me",
  northamerica: "na",
  southamerica: "sa",
  us: "us",
};

/** The usual short names of Azure regions; others keep their full name. */
const AZURE_CODES: Readonly<Record<string, string>> = {
  westeurope: "weu",
  northeurope: "neu",
  uksouth: "uks",
  ukwest: "ukw",
  francecentral: "frc",
  germanywestcentral: "gwc",
  swedencentral: "sdc",
  switzerlandnorth: "szn",
  norwayeast: "nwe",
  polandcentral: "plc",
  italynorth: "itn",
  spaincentral: "spc",
  eastus: "eus",
  eastus2: "eus2",
  westus: "wus",
  westus2: "wus2",
  westus3: "wus3",
  centralus: "cus",
  northcentralus: "ncus",
  southcentralus: "scus",
  canadacentral: "cac",
  canadaeast: "cae",
  brazilsouth: "brs",
  australiaeast: "aue",
  australiasoutheast: "ause",
  japaneast: "jpe",
  japanwest: "jpw",
  koreacentral: "krc",
  southeastasia: "sea",
  eastasia: "ea",
  centralindia: "inc",
  uaenorth: "uan",
  southafricanorth: "san",
};

const direction = (word: string) => DIRECTIONS[word] ?? word.slice(0, 2);

/** The short code of a region in resource names: eu-west-1 -> euw1, europe-west1 -> euw1, westeurope -> weu. */
export function regionCode(cloud: Cloud, region: string): string {
  switch (cloud) {
    case "docker":
      return "local";
    case "aws": {
      const m = /^([a-z]{2})(-gov)?-([a-z]+)-(\d+)$/.exec(region);
      return m ? `${m[1]}${m[2] ? "g" : ""}${direction(m[3]!)}${m[4]}` : region;
    }
    case "gcp": {
      const m = /^([a-z]+)-([a-z]+)(\d+)$/.exec(region);
      return m
        ? `${GCP_GEOGRAPHIES[m[1]!] ?? m[1]!.slice(0, 2)}${direction(m[2]!)}${m[3]}`
        : region;
    }
    case "azure":
      return AZURE_CODES[region] ?? region;
    default: {
      const unreachable: never = cloud;
      throw new Error(`unknown cloud ${String(unreachable)}`);
    }
  }
}

/** The home region (RegionSite.home): `enterprise.homeRegion`, or the first region. */
export function homeRegion(cfg: {
  readonly regions: readonly string[];
  readonly enterprise?: { readonly homeRegion?: string };
}): string | undefined {
  return cfg.enterprise?.homeRegion ?? cfg.regions[0];
}

/** The sites of a stack, primary first: one per configured region (Docker: one, `local`). */
export function regionSites(
  cfg: Pick<PlatformConfig, "tier" | "cloud" | "regions"> & {
    readonly enterprise?: { readonly homeRegion?: string };
  },
): RegionSite[] {
  const base = `rag-${cfg.tier}`;
  const regions = cfg.regions.length > 0 ? cfg.regions : ["local"];
  const several = regions.length > 1;
  const home = homeRegion(cfg) ?? "local";
  return regions.map((region, i) => {
    const code = regionCode(cfg.cloud, region);
    const prefix = several ? `${base}-${code}` : base;
    return {
      region,
      code,
      prefix,
      primary: i === 0,
      home: region === home,
      namePrefix: several ? prefix : undefined,
    };
  });
}

/** A name a single-region stack leaves bare, prefixed when the stack has several regions. */
export function siteName(site: Pick<RegionSite, "namePrefix">, name: string): string {
  return site.namePrefix ? `${site.namePrefix}-${name}` : name;
}

/**
 * Each region's network range, in the order of the regions: `network.regionCidrs`, or
 * `network.cidr` for the home region and the blocks of its size after it for the others, in
 * the order listed (10.60.0.0/16, 10.61.0.0/16...). Keyed by the home region, not the first: a
 * failover that moves the new primary to the front keeps every range (with two regions, always).
 * Throws when a derived block would leave IPv4.
 */
export function regionCidrs(
  cfg: Pick<ConfigInput, "regions"> & {
    readonly network: Pick<ConfigInput["network"], "cidr" | "regionCidrs">;
    readonly enterprise?: { readonly homeRegion?: string };
  },
): string[] {
  if (cfg.network.regionCidrs) return [...cfg.network.regionCidrs];
  const [ip, prefixText] = cfg.network.cidr.split("/");
  const size = 2 ** (32 - Number(prefixText));
  const start = ip!.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const base = start - (start % size);
  const home = homeRegion(cfg);
  const order = [
    ...cfg.regions.filter((r) => r === home),
    ...cfg.regions.filter((r) => r !== home),
  ];
  return cfg.regions.map((region) => {
    const n = base + order.indexOf(region) * size;
    if (n + size > 2 ** 32)
      throw new Error(`leaves no room for a range per region after it; set network.regionCidrs`);
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256);
    return `${octets.join(".")}/${prefixText}`;
  });
}
