/** New-session alerts: a short tone, and a desktop notification while the page is in the background. */
import { t } from '../lib/i18n';

let audio: AudioContext | undefined;

/** Asks for desktop notifications (a click must ask) and unlocks sound. */
export async function enableNotifications(): Promise<void> {
  audio ??= new AudioContext();
  if ('Notification' in window && Notification.permission === 'default') await Notification.requestPermission();
}

export function alertNewSession(userId: string): void {
  beep();
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    new Notification(t('newSession'), { body: userId, tag: `desk-${userId}` });
  }
}

function beep(): void {
  if (!audio || audio.state !== 'running') return;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  osc.connect(gain).connect(audio.destination);
  osc.start();
  osc.stop(audio.currentTime + 0.4);
}
