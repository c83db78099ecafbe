// Entry point of the web client.
import {App} from './app.js';

const app = new App(document.getElementById('app'));
app.start();
