"""Names as partners abroad and shelters write them: Ukrainian and Bulgarian names in Cyrillic,
Chinese names in Chinese characters. A hard variant: only transliteration (`pseudonyms.scripts`)
and approximate matching bring them back to the Latin spelling of the same person."""

from __future__ import annotations

# The demo's Ukrainian, Bulgarian and Chinese names (`names.CULTURES`) in their own script.
NATIVE_SPELLING: dict[str, str] = {
    # Ukrainian
    "Olena": "Олена", "Oksana": "Оксана", "Iryna": "Ірина", "Nataliia": "Наталія", "Tetiana": "Тетяна",
    "Yuliia": "Юлія", "Svitlana": "Світлана", "Kateryna": "Катерина", "Viktoriia": "Вікторія",
    "Anastasiia": "Анастасія", "Oleksandr": "Олександр", "Andrii": "Андрій", "Serhii": "Сергій",
    "Volodymyr": "Володимир", "Dmytro": "Дмитро", "Mykola": "Микола", "Yurii": "Юрій", "Taras": "Тарас",
    "Bohdan": "Богдан", "Vasyl": "Василь", "Kovalenko": "Коваленко", "Shevchenko": "Шевченко",
    "Bondarenko": "Бондаренко", "Tkachenko": "Ткаченко", "Kravchenko": "Кравченко", "Melnyk": "Мельник",
    "Oliinyk": "Олійник", "Kovalchuk": "Ковальчук", "Polishchuk": "Поліщук", "Savchenko": "Савченко",
    "Marchenko": "Марченко", "Lysenko": "Лисенко",
    # Bulgarian
    "Maria": "Мария", "Ivana": "Ивана", "Elena": "Елена", "Desislava": "Десислава", "Gergana": "Гергана",
    "Radostina": "Радостина", "Svetlana": "Светлана", "Yordanka": "Йорданка", "Petya": "Петя",
    "Teodora": "Теодора", "Georgi": "Георги", "Ivan": "Иван", "Nikolay": "Николай", "Hristo": "Христо",
    "Stoyan": "Стоян", "Todor": "Тодор", "Kaloyan": "Калоян", "Vasil": "Васил",
    "Ivanov": "Иванов", "Georgiev": "Георгиев", "Dimitrov": "Димитров", "Petrov": "Петров", "Nikolov": "Николов",
    "Hristov": "Христов", "Stoyanov": "Стоянов", "Todorov": "Тодоров", "Iliev": "Илиев", "Angelov": "Ангелов",
    "Kostadinov": "Костадинов", "Ivanova": "Иванова", "Georgieva": "Георгиева", "Dimitrova": "Димитрова",
    "Petrova": "Петрова", "Nikolova": "Николова", "Hristova": "Христова", "Stoyanova": "Стоянова",
    "Todorova": "Тодорова", "Ilieva": "Илиева", "Angelova": "Ангелова", "Kostadinova": "Костадинова",
    # Chinese
    "Wang": "王", "Li": "李", "Zhang": "张", "Liu": "刘", "Chen": "陈", "Yang": "杨", "Huang": "黄",
    "Zhao": "赵", "Wu": "吴", "Zhou": "周", "Xu": "徐", "Sun": "孙", "Xiaoling": "晓玲", "Meiling": "美玲",
    "Yan": "燕", "Jing": "静", "Hui": "慧", "Lina": "丽娜", "Xiu": "秀", "Fang": "芳", "Ying": "英",
    "Wei": "伟", "Jun": "军", "Hao": "浩", "Jian": "建", "Ming": "明", "Qiang": "强", "Tao": "涛",
    "Yong": "勇", "Bo": "波",
}


def in_native_script(surname: str, given_names: str) -> tuple[str, str] | None:
    """The name written in its own script, or None when not every part of it is known here."""
    parts = [surname, *given_names.split(" ")]
    if not all(part in NATIVE_SPELLING for part in parts):
        return None
    return NATIVE_SPELLING[surname], " ".join(NATIVE_SPELLING[part] for part in parts[1:])
