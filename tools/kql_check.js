// Checks KQL text with Microsoft's Kusto.Language parser (npm @kusto/language-service-next).
//
// stdin:  {"databases": {"<name>": {"<Table>": [["Column", "type"], ...]}},
//          "queries": [{"name": "...", "database": "<name>", "text": "..."}]}
// stdout: {"results": [{"name": "...", "diagnostics": [{"severity", "code", "message", "start", "length"}]}]}
// Exit code 0 when the check ran (diagnostics are data), 2 on a usage error.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

function loadKusto() {
  const dir = path.join(__dirname, "..", "node_modules", "@kusto", "language-service-next");
  for (const file of ["bridge.min.js", "Kusto.Language.Bridge.min.js"]) {
    const code = fs.readFileSync(path.join(dir, file), "utf8");
    vm.runInThisContext(code, { filename: file });
  }
  return globalThis.Kusto;
}

function main() {
  let request;
  try {
    request = JSON.parse(fs.readFileSync(0, "utf8"));
  } catch (err) {
    process.stderr.write(`kql_check: stdin is not JSON: ${err.message}\n`);
    process.exit(2);
  }
  const Kusto = loadKusto();
  const L = Kusto.Language;
  const globalsByDb = {};
  for (const [dbName, tables] of Object.entries(request.databases || {})) {
    const symbols = Object.entries(tables).map(([table, columns]) =>
      L.Symbols.TableSymbol.From("(" + columns.map(([c, t]) => `['${c}']:${t}`).join(", ") + ")").WithName(table)
    );
    const db = new L.Symbols.DatabaseSymbol.ctor(dbName, symbols);
    globalsByDb[dbName] = L.GlobalState.Default.WithDatabase(db);
  }
  const results = [];
  for (const q of request.queries || []) {
    const globals = globalsByDb[q.database];
    if (!globals) {
      results.push({ name: q.name, diagnostics: [{ severity: "Error", code: "WARDEN", message: `unknown database ${q.database}`, start: 0, length: 0 }] });
      continue;
    }
    const code = L.KustoCode.ParseAndAnalyze(q.text, globals);
    const diags = code.GetDiagnostics();
    const out = [];
    for (let i = 0; i < diags.Count; i++) {
      const d = diags.getItem(i);
      out.push({ severity: String(d.Severity), code: String(d.Code), message: String(d.Message), start: d.Start, length: d.Length });
    }
    results.push({ name: q.name, diagnostics: out });
  }
  process.stdout.write(JSON.stringify({ results }));
}

main();
