/** The chat page with the robot in language-model mode: the streamed answer shows on the page as it is written. */
import t from 'tap';
import { genUserSig } from '../../protocol/usersig';
import { closeBrowser, person, PHONE, watchErrors } from '../helpers/browser';
import { fakeModel } from '../helpers/fake-model';
import { APP, KEY, startTestServer, testApp } from '../helpers/server';

t.teardown(() => closeBrowser());

t.test('a language-model answer reaches the page as one message that fills in', async (t) => {
  const model = await fakeModel({ kind: 'stream', pieces: ['您好！', '我们的营业时间', '是每天 9:00', '到 21:00。'], gapMs: 250 });
  const server = await startTestServer(testApp([], {}, { llm: { baseUrl: model.url, model: 'fake' } }));
  t.teardown(async () => { await server.stop(); await model.close(); });
  const errors: string[] = [];
  const page = await (await person(PHONE)).newPage();
  watchErrors(page, errors);
  await page.goto(`http://127.0.0.1:${server.port}/chat/?sdkappid=${APP}&userid=visitor-9&usersig=${encodeURIComponent(genUserSig(APP, KEY, 'visitor-9', 3600))}`);
  await page.getByLabel('输入消息').fill('你们几点营业');
  await page.getByLabel('输入消息').press('Enter');
  await page.locator('.markdown').filter({ hasText: '您好！我们的营业时间是每天 9:00到 21:00。' }).waitFor();
  t.equal(await page.locator('.markdown').count(), 1, 'one message, filled in as the model wrote');
  t.same(errors, [], 'no page error');
  await page.context().close();
});
