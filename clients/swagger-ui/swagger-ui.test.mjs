// Swagger UI in a real browser (Debian's Chromium driven by playwright-core): open
// /docs, authorize with a bearer token, "Try it out" on listChats, and see a 200 with
// chats. Screenshots of each step go to SCREENSHOTS (default .ci/artifacts/swagger-ui).
//
//   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_TOKEN=sbo_… npm run test:swagger-ui
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const baseUrl = process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8080";
const token = process.env.SWITCHBOARD_TOKEN;
if (!token) throw new Error("set SWITCHBOARD_TOKEN to an operator token");
const shots = resolve(process.env.SCREENSHOTS ?? "../.ci/artifacts/swagger-ui");
mkdirSync(shots, { recursive: true });

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok  ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});
let page;
try {
  page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));

  await page.goto(`${baseUrl}/docs`);
  await page.locator(".information-container .title", { hasText: "Switchboard" }).waitFor();
  const operation = page.locator("#operations-Chats-listChats");
  await operation.waitFor();
  await page.screenshot({ path: join(shots, "1-docs.png") });
  check(true, "Swagger UI at /docs shows the Switchboard API and its listChats operation");

  // Authorize: the operators' bearer scheme in the Authorize dialog.
  await page.locator(".scheme-container button.authorize").click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  const operatorAuth = dialog.locator(".auth-container", { hasText: "OperatorAuth" });
  await operatorAuth.locator("input").first().fill(token);
  await operatorAuth.getByRole("button", { name: "Apply credentials" }).click();
  await operatorAuth.getByText("Authorized", { exact: true }).waitFor();
  await page.screenshot({ path: join(shots, "2-authorized.png") });
  check(
    (await operatorAuth.locator("button", { hasText: "Logout" }).count()) === 1,
    "the bearer token is accepted in the Authorize dialog",
  );
  await operatorAuth.locator("button", { hasText: "Close" }).click();

  // Try it out on listChats, with selector[name]=unread.
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator('tr[data-param-name="selector[name]"] select').selectOption("unread");
  await operation.locator('tr[data-param-name="limitation"] input').fill("5");
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const body = await operation.locator(".live-responses-table .response-col_description pre.microlight").first().innerText();
  const request = await operation.locator(".request-url pre").first().innerText();
  await operation.screenshot({ path: join(shots, "3-list-chats.png") });

  check((await status.innerText()).trim() === "200", "Execute on listChats answers 200");
  check(request.includes("selector%5Bname%5D=unread") || request.includes("selector[name]=unread"), `the request was ${request}`);
  const chats = JSON.parse(body);
  check(
    chats.collection.length > 0 && chats.collection.every((c) => c.unreadMessages > 0),
    `the answer lists ${chats.collection.length} chats with unread messages (total ${chats.cursor.total})`,
  );
  check(problems.length === 0, `no script errors on the page${problems.length ? `: ${problems.join("; ")}` : ""}`);
  console.log(`swagger ui: all checks passed; screenshots in ${shots}`);
} catch (error) {
  if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  throw error;
} finally {
  await browser.close();
}
