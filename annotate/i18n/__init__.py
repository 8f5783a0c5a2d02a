"""The annotator UI in several languages (issue 17).

- ``languages``: which languages exist, how a code is matched, which way each one reads;
- ``middleware``: picks the language of each request (menu > profile > browser > English);
- ``context_processors``: the language menu and the strings the page's scripts show;
- ``catalogs``: compiling the .po catalogs to .mo and checking them, in pure Python;
- ``extract``: the messages the code marks for translation, in pure Python (tests).
"""
