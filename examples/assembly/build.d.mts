/** Example names built by build:servers. */
export declare const EXAMPLES: string[];
/** "host" and "wasix". */
export declare const FLAVOURS: string[];
/** Compiles one AssemblyScript server source for a flavour. */
export declare function buildServer(entry: string, flavour: string, outFile: string, extra?: string[]): Promise<string>;
/** Like buildServer, but skips the build when the output is newer than every source. */
export declare function buildServerIfStale(entry: string, flavour: string, outFile: string): Promise<string>;
