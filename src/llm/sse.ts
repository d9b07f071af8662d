/**
 * The text pieces of a streamed chat-completions answer: server-sent events whose `data:` lines carry
 * `{ choices: [{ delta: { content } }] }`, ending with `data: [DONE]`. Lines that are not such events are skipped:
 * what a model server sends is input like any other.
 */
const MAX_LINE = 1 << 20;

export async function* sseDeltas(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    if (buffered.length > MAX_LINE && !buffered.includes('\n')) throw new Error('an event line over 1 MB');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      const delta = deltaOf(data);
      if (delta) yield delta;
    }
  }
}

function deltaOf(data: string): string | undefined {
  try {
    const content = (JSON.parse(data) as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta?.content;
    return typeof content === 'string' ? content : undefined;
  } catch {
    return undefined;
  }
}
