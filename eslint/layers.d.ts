import type { Linter } from 'eslint';
export declare const LAYERS: Record<string, string[]>;
export declare const REAL_TIME_EXCEPTIONS: string[];
export declare const layerConfigs: Linter.Config[];
