/**
 * What a new robot starts with (product.md §4.4): each library's "all categories" entry, the preset FAQ category,
 * the system preset chitchat category with its five children and a preset chitchat library; and the built-in ways of
 * asking for a human that the to-human intent recognition (ToAgentEnable) matches.
 */
import type { Category } from './knowledge-base';

export function presetCategories(nextId: () => number): Category[] {
  const faqAll = nextId();
  const faqPreset = nextId();
  const chatPreset = nextId();
  const chatAll = nextId();
  const children = ['日常问候', '询问机器人信息', '情绪表达', '兴趣爱好', '客服场景问答'];
  return [
    { id: faqAll, library: 'faq', parentId: 0, title: '全部分类', menuType: 1 },
    { id: faqPreset, library: 'faq', parentId: 0, title: '预设问答库', menuType: 0 },
    { id: chatPreset, library: 'chitchat', parentId: 0, title: '系统预设分类', menuType: 2 },
    { id: chatAll, library: 'chitchat', parentId: 0, title: '全部分类', menuType: 1 },
    ...children.map((title) => ({ id: nextId(), library: 'chitchat' as const, parentId: chatPreset, title, menuType: 2 as const })),
  ];
}

/** Preset chitchat (QuestionType 1): a stable key, its preset category, the question, similar ones and the answer. */
export const presetChitchat: readonly { key: string; category: string; question: string; similar: string[]; answer: string }[] = [
  { key: 'hello', category: '日常问候', question: '你好', similar: ['您好', '在吗', '哈喽', 'hello', 'hi'], answer: '您好，请问有什么可以帮您？' },
  { key: 'morning', category: '日常问候', question: '早上好', similar: ['早安', '上午好', 'good morning'], answer: '早上好！请问有什么可以帮您？' },
  { key: 'bye', category: '日常问候', question: '再见', similar: ['拜拜', '先这样吧', 'bye', 'goodbye'], answer: '再见，祝您生活愉快！' },
  { key: 'robot', category: '询问机器人信息', question: '你是机器人吗', similar: ['你是人工智能吗', '你是真人吗', 'are you a robot', 'are you a bot'], answer: '我是智能客服机器人，可以为您解答常见问题；需要时也可以为您转接人工客服。' },
  { key: 'name', category: '询问机器人信息', question: '你叫什么名字', similar: ['你是谁', 'what is your name', 'who are you'], answer: '我是您的智能客服助手，很高兴为您服务。' },
  { key: 'thanks', category: '情绪表达', question: '谢谢', similar: ['谢谢你', '感谢', '多谢', 'thank you', 'thanks'], answer: '不客气，很高兴能帮到您！' },
  { key: 'slow', category: '情绪表达', question: '你们太慢了', similar: ['怎么这么慢', '等太久了', 'you are too slow'], answer: '非常抱歉让您久等了，我们会尽快为您处理。' },
  { key: 'hobby', category: '兴趣爱好', question: '你喜欢什么', similar: ['你有什么爱好', 'what do you like'], answer: '我最喜欢帮大家解决问题啦。' },
  { key: 'hours', category: '客服场景问答', question: '你们几点上班', similar: ['客服什么时候在线', '人工客服工作时间'], answer: '智能客服 24 小时在线；人工客服在工作时间内为您服务。' },
];

/** Ways of asking for a human, Chinese and English, matched when ToAgentEnable is on. */
export const toHumanPhrases: readonly string[] = [
  '转人工', '人工客服', '我要人工', '找人工', '转接人工服务', '我要找客服', '我想和真人聊', '联系客服', '真人客服', '接人工',
  'talk to a human', 'speak to an agent', 'real person please', 'connect me to customer service', 'human agent', 'live agent',
  'I want to talk to a person', 'customer service representative',
];
