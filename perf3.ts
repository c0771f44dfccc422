const [url, pak] = [process.argv[2]!, process.argv[3]!];
const gql = async (q: string, v: object, p = pak) => (await (await fetch(url + "/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + p }, body: JSON.stringify({ query: q, variables: v }) })).json()) as any;
const g = await gql(`mutation { createGenerator(input: {name: "g${Date.now()}"}) { pak } }`, {});
const gp = g.data.createGenerator.pak;
const s = await gql(`mutation { createStack(input: {name: "s${Date.now()}"}) { stack { id } } }`, {}, gp);
const sid = s.data.createStack.stack.id;
const y = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  p: "${"x".repeat(1900)}"\n`;
for (const c of [1, 16, 64]) {
  let n = 0; const end = Date.now() + 4000; const lat: number[] = [];
  await Promise.all(Array.from({ length: c }, async () => { while (Date.now() < end) { const t = performance.now(); const r = await gql(`mutation($s: ID!, $y: String!) { createDeploymentObject(input: {stackId: $s, yamlContent: $y}) { deploymentObject { id } } }`, { s: sid, y: y }, gp); if (r.errors) throw new Error(JSON.stringify(r.errors)); lat.push(performance.now() - t); n++; } }));
  lat.sort((a, b) => a - b);
  console.log(`c=${c}: ${Math.round(n / 4)}/s p50 ${lat[lat.length >> 1]!.toFixed(1)} ms`);
}
