/** Health report of the gateway (sitelinkctl health), collected with systeminformation. */
export interface InterfaceHealth {
  name: string;
  up: boolean;
  addresses: string[];
  mac: string;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

export interface HealthReport {
  hostname: string;
  uptimeSeconds: number;
  /** Load averages 1/5/15 min and current total CPU load in percent. */
  load: { avg1: number; avg5: number; avg15: number; currentPercent: number; cores: number };
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  /** Degrees Celsius; null when the board exposes no sensor. */
  temperatures: { main: number | null; cores: number[]; max: number | null };
  interfaces: InterfaceHealth[];
  /** Where it was collected: in the daemon or locally by sitelinkctl. */
  source: 'daemon' | 'local';
}
