import packageJson from "@/package.json";

export const BERTH_VERSION: string = packageJson.version;
