// The peer: express.static serving the folder given as the second argument.
import express from "express";

const port = Number(process.argv[2] ?? 3003);
const root = process.argv[3]!;
const app = express();
app.use("/static", express.static(root));
app.listen(port, "127.0.0.1", () => console.log(`Listening on 'http://127.0.0.1:${port}/'`));
