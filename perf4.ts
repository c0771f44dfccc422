const [url, pak] = [process.argv[2]!, process.argv[3]!];
for (const [name, body] of [["me", { query: "{ me { role } }" }], ["healthz", null]] as const) {
  for (const c of [1, 16]) {
    let n = 0; const end = Date.now() + 3000;
    await Promise.all(Array.from({ length: c }, async () => { while (Date.now() < end) {
      if (body) await (await fetch(url + "/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + pak }, body: JSON.stringify(body) })).json();
      else await (await fetch(url + "/healthz")).json();
      n++; } }));
    console.log(name, `c=${c}: ${Math.round(n / 3)}/s`);
  }
}
