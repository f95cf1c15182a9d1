// Test helper for publish/partytime_test.go: parses each feed file named on
// the command line with podcast-partytime and prints, as one JSON object
// keyed by file name, every item's guid, enclosure and alternate
// enclosures as partytime sees them. Exit status 1 if a feed does not parse.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const pt = require("podcast-partytime");

const out = {};
for (const file of process.argv.slice(2)) {
  const feed = pt.parseFeed(readFileSync(file, "utf8"), { allowMissingGuid: true });
  if (!feed) {
    console.error(`${file}: partytime could not parse the feed`);
    process.exit(1);
  }
  out[file] = (feed.items ?? []).map((it) => ({
    guid: it.guid ?? "",
    title: it.title ?? "",
    enclosureUrl: it.enclosure?.url ?? "",
    alternativeEnclosures: it.alternativeEnclosures ?? [],
  }));
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
